'use strict'
// Secrets never leak: a full open / send / token renewal session at TRACE logging
// (IOTSEC_LOG=trace: iotsec, rumqttc and rustls on standard error) in a child process, and the
// errors a wrong key, a malformed key, an expired fixed SAS token and a wrong CA produce.
// Neither the log nor any error text or stack holds the key, a SAS token or a signature
// (computed here for every expiry the session could have signed).
//
// And TLS verification cannot be turned off: a wrong CA always fails, whatever TLS-looking
// option is passed, and without a CA the system roots do not trust the local brokers.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')

const iotsec = require('iotsec')
const { Client, Mqtt } = iotsec
const h = require('./helpers')

const LIFETIME = 5

/** RFC 3986 encoding, as iotsec (and the SDKs) encode SAS fields. */
function encode (s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

function signature (keyB64, resource, expiry) {
  return crypto.createHmac('sha256', Buffer.from(keyB64, 'base64')).update(`${encode(resource)}\n${expiry}`).digest('base64')
}

function secretForms (keyB64, resource, first, last) {
  const forms = [keyB64, encode(keyB64), Buffer.from(keyB64, 'base64').toString('hex'), keyB64.replace(/=+$/, '')]
  for (let se = first; se <= last; se++) {
    const sig = signature(keyB64, resource, se)
    forms.push(sig, encode(sig), Buffer.from(sig, 'base64').toString('hex'), sig.replace(/=+$/, ''))
  }
  return forms
}

test('the trace log and every error of a session with token renewals hold no secret', async () => {
  const hubEnv = await h.hub()
  const mq = await h.mosquitto()
  const device = h.uniqueDevice('secrets')
  const cs = h.hubAddDevice(hubEnv, device)
  const key = cs.split('SharedAccessKey=')[1]
  const resource = `localhost/devices/${device}`
  const ca = fs.readFileSync(hubEnv.ca_file, 'utf8')
  const expiredSe = 1000000000
  const fixedSig = signature(key, resource, expiredSe)
  const fixedToken = `SharedAccessSignature sr=${encode(resource)}&sig=${encode(fixedSig)}&se=${expiredSe}`
  const otherKey = crypto.randomBytes(32).toString('base64')
  const hubOptions = { ca, port: hubEnv.tls_port }
  const config = {
    connectionString: cs,
    ca,
    port: hubEnv.tls_port,
    seconds: 7,
    failing: [
      [`HostName=localhost;DeviceId=${device};SharedAccessKey=${otherKey}`, hubOptions], // CREDENTIAL_REFUSED
      [cs.replace('SharedAccessKey=', 'SharedAccessKey=!'), null], // INVALID_CONNECTION_STRING
      [cs + 'x', null],
      [`HostName=localhost;DeviceId=${device};SharedAccessSignature=${fixedToken}`, hubOptions], // refused: expired
      [cs, { ca: fs.readFileSync(mq.wrong_ca_file, 'utf8'), port: mq.tls_port }] // TLS
    ]
  }
  const env = { ...process.env, IOTSEC_LOG: 'trace', IOTSEC_SECRETS_CONFIG: JSON.stringify(config) }
  delete env.IOTSEC_CA_FILE
  delete env.IOTSEC_MQTT_PORT
  const r = spawnSync(process.execPath, [path.join(__dirname, 'secret-session.js')], { env, encoding: 'utf8', timeout: 120000, maxBuffer: 64 << 20 })
  assert.equal(r.status, 0, r.stderr.slice(-3000))
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  const log = r.stderr

  // The session did what it should: traced, renewed its token, delivered every message.
  assert.ok(log.split('\n').length > 100, 'IOTSEC_LOG=trace logs on standard error')
  assert.match(log, / TRACE /)
  assert.match(log, /rumqttc/)
  assert.match(log, /rustls/)
  assert.match(log, /renewing the SAS token/)
  assert.ok(out.events.some((e) => e[0] === 'reconnecting' && e[1] === 0 && e[2] === 'EXPIRED_SAS_TOKEN'), JSON.stringify(out.events))
  const stored = await h.waitForHubRecords(hubEnv, 'telemetry', device, out.sent)
  assert.equal(stored.length, out.sent)
  assert.deepEqual(out.errors.map((e) => e.code).sort(), ['CREDENTIAL_REFUSED', 'CREDENTIAL_REFUSED', 'INVALID_CONNECTION_STRING', 'INVALID_CONNECTION_STRING', 'TLS'])

  const forms = secretForms(key, resource, Math.floor(out.started) - 2, Math.ceil(out.ended) + LIFETIME + 2)
  forms.push(fixedSig, encode(fixedSig), fixedToken, otherKey, encode(otherKey))
  for (const [name, text] of [['log', log], ['errors', r.stdout]]) {
    for (const form of forms) assert.ok(!text.includes(form), `a secret (${form.slice(0, 6)}...) appears in the ${name}`)
    assert.ok(!text.includes('SharedAccessSignature sr='), name)
    assert.ok(!text.includes('sig='), name)
  }
  for (const line of log.split('\n')) assert.ok(!line.includes('SharedAccessKey='), line)
})

test('TLS verification cannot be turned off: a wrong CA fails with TLS whatever else is passed', async () => {
  const mq = await h.mosquitto()
  const hubEnv = await h.hub()
  const saved = [process.env.IOTSEC_CA_FILE, process.env.IOTSEC_MQTT_PORT]
  delete process.env.IOTSEC_CA_FILE
  delete process.env.IOTSEC_MQTT_PORT
  try {
    const cs = h.connectionString(h.uniqueDevice('tls'))
    const wrong = fs.readFileSync(mq.wrong_ca_file, 'utf8')
    const attempts = [
      { ca: wrong, port: mq.tls_port },
      { caFile: mq.wrong_ca_file, port: mq.tls_port },
      // TLS options of Node's tls module and of other MQTT clients are not iotsec options: ignored.
      { ca: wrong, port: mq.tls_port, rejectUnauthorized: false, insecure: true, checkServerIdentity: () => undefined },
      // No CA: the system roots do not know the local brokers' CA.
      { port: hubEnv.tls_port }
    ]
    for (const options of attempts) {
      const c = Client.fromConnectionString(cs, Mqtt)
      await c.setOptions(options)
      await assert.rejects(c.open(), { code: 'TLS' }, JSON.stringify(Object.keys(options)))
      await c.close()
    }
    const ok = Client.fromConnectionString(cs, Mqtt)
    await ok.setOptions(h.tlsOptions(mq))
    await ok.open()
    await ok.close()
  } finally {
    if (saved[0] !== undefined) process.env.IOTSEC_CA_FILE = saved[0]
    if (saved[1] !== undefined) process.env.IOTSEC_MQTT_PORT = saved[1]
  }
})
