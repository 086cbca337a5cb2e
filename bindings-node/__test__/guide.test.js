'use strict'
// The guide's Node.js snippet (tests/guide/node.js), verbatim except for its require line, sends
// a security message over TLS to mosquitto and to the local hub; the broker receives the golden
// topic and the exact body. CA and port come from IOTSEC_CA_FILE / IOTSEC_MQTT_PORT, as a user
// running the guide against a local broker would set them.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')

const iotsec = require('iotsec')
const h = require('./helpers')

const GOLDEN_SUFFIX = 'messages/events/%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1'
const VALID = fs.readFileSync(path.join(h.VECTORS, 'guide', 'guide_message_valid.json'), 'utf8')
const ORIGINAL = fs.readFileSync(path.join(h.VECTORS, 'guide', 'guide_message.json'), 'utf8')

function withBrokerEnv (caFile, port, fn) {
  const saved = { ca: process.env.IOTSEC_CA_FILE, port: process.env.IOTSEC_MQTT_PORT }
  process.env.IOTSEC_CA_FILE = caFile
  process.env.IOTSEC_MQTT_PORT = String(port)
  try {
    return fn()
  } finally {
    if (saved.ca === undefined) delete process.env.IOTSEC_CA_FILE
    else process.env.IOTSEC_CA_FILE = saved.ca
    if (saved.port === undefined) delete process.env.IOTSEC_MQTT_PORT
    else process.env.IOTSEC_MQTT_PORT = saved.port
  }
}

for (const module of ['iotsec', 'iotsec/mqtt']) {
  test(`guide snippet (require('${module}').Mqtt) sends the golden topic to mosquitto over TLS`, async () => {
    const env = await h.mosquitto()
    const device = h.uniqueDevice('guide')
    const run = withBrokerEnv(env.ca_file, env.tls_port, () => h.runGuide({
      code: h.guideSnippet(module),
      requireFn: require,
      iotsec,
      connectionString: h.connectionString(device),
      messageContent: VALID
    }))
    try {
      const got = await h.waitForReceived(env, device, 1)
      assert.equal(got.length, 1, 'mosquitto received the security message')
      assert.equal(got[0].topic, `devices/${device}/${GOLDEN_SUFFIX}`)
      assert.equal(got[0].qos, 1)
      assert.equal(got[0].retain, false)
      assert.deepEqual(got[0].payload, Buffer.from(VALID))
      assert.equal(run.clients.length, 1)
      assert.equal(run.sends.length, 1)
      assert.ok((await run.sends[0]) instanceof iotsec.results.MessageEnqueued)
      // The CONNECT carried the device id and an iotsec user agent naming Node.
      const connects = h.connections(env).filter((c) => c.clientId === device)
      assert.ok(connects.length >= 1, 'mosquitto logged the connection')
      assert.match(connects[0].username, new RegExp(`^localhost/${device}/\\?api-version=2021-04-12&DeviceClientType=iotsec%2F${iotsec.version}%20%28node%20${process.versions.node.replace(/\./g, '\\.')}%3B%20`))
    } finally {
      run.stop()
      await run.clients[0].close()
    }
  })
}

test('guide snippet sends to the local hub, which stores a valid security message', async () => {
  const hubEnv = await h.hub()
  const device = h.uniqueDevice('guidehub')
  const cs = h.hubAddDevice(hubEnv, device)
  const run = withBrokerEnv(hubEnv.ca_file, hubEnv.tls_port, () => h.runGuide({
    code: h.guideSnippet('iotsec'),
    requireFn: require,
    iotsec,
    connectionString: cs,
    messageContent: VALID
  }))
  try {
    await h.until(() => run.sends.length === 1, 10000, 'the guide to send')
    await run.sends[0]
    const stored = await h.waitForHubRecords(hubEnv, 'security', device, 1)
    assert.ok(stored.length >= 1, 'the hub stored the security message')
    assert.equal(stored[0].topic, `devices/${device}/${GOLDEN_SUFFIX}`)
    assert.equal(stored[0].module_id, null)
    assert.equal(h.hubRecords(hubEnv, 'dropped', device).length, 0)
  } finally {
    run.stop()
    await run.clients[0].close()
  }
})

test("the guide's own example message is refused before sending: ProcessCreate needs UserId", async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('guidebad')
  const run = withBrokerEnv(env.ca_file, env.tls_port, () => h.runGuide({
    code: h.guideSnippet('iotsec'),
    requireFn: require,
    iotsec,
    connectionString: h.connectionString(device),
    messageContent: ORIGINAL
  }))
  try {
    await h.until(() => run.sends.length === 1, 10000, 'the guide to send')
    await assert.rejects(run.sends[0], (err) => {
      assert.equal(err.code, 'SCHEMA_VALIDATION')
      assert.deepEqual(err.violations.map((v) => [v.pointer, v.rule]), [['/Events/0/Payload/0/UserId', 'required']])
      assert.match(err.message, /UserId/)
      return true
    })
    await h.sleep(200)
    assert.equal(h.received(env, device).length, 0, 'nothing was sent')
  } finally {
    run.stop()
    await run.clients[0].close()
  }
})

test('after a lost connection the guide re-opens (disconnect event, removeAllListeners, open) and sends again', async () => {
  // A private broker: this test stops it and starts it again on the same port.
  const env = await h.startMosquitto()
  const device = h.uniqueDevice('guidere')
  const run = withBrokerEnv(env.ca_file, env.tls_port, () => h.runGuide({
    code: h.guideSnippet('iotsec'),
    requireFn: require,
    iotsec,
    connectionString: h.connectionString(device),
    messageContent: VALID
  }))
  const { spawn } = require('child_process')
  let restarted
  try {
    await h.waitForReceived(env, device, 1)
    const client = run.clients[0]
    const disconnected = new Promise((resolve) => client.once('disconnect', resolve))
    process.kill(env.mosquitto_pid, 'SIGTERM')
    const result = await disconnected
    assert.ok(result instanceof iotsec.results.Disconnected)
    assert.equal(result.transportObj.code, 'CONNECTION_LOST')
    // The guide's handler removed all listeners and called open() again, which waits for the
    // reconnection; bring the broker back on the same port.
    const conf = path.join(env.dir, 'mosquitto', 'mosquitto.conf')
    restarted = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
    await h.until(() => run.sends.length === 2, 20000, 'the guide to send again after reconnecting')
    await run.sends[1]
    // mosquitto's recorder restarted with it is not running, so check the broker log instead:
    // the device connected twice.
    await h.until(() => h.connections(env).filter((c) => c.clientId === device).length >= 2, 10000, 'a second CONNECT')
  } finally {
    run.stop()
    await run.clients[0].close()
    if (restarted) restarted.kill('SIGTERM')
    try { process.kill(env.testkitPid, 'SIGTERM') } catch (_) {}
  }
})
