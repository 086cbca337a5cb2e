'use strict'
// The Node.js conformance driver: copied into an empty folder where the `npm pack` tarball of
// bindings-node was installed, so `require('iotsec')` is the installed package; public API only.
// tests/conformance/run.py reads what it prints (one JSON object per line); the protocol is in
// tests/conformance/README.md.
//
//   node driver.js snippet GUIDE_FILE BODY_FILE CONNECTION_STRING   (CA and port from
//                                        IOTSEC_CA_FILE / IOTSEC_MQTT_PORT, as the guide sets none)
//   node driver.js wire VECTORS_DIR CA_FILE PORT
//   node driver.js schema VECTORS_DIR
//   node driver.js bad CA_FILE PORT INVALID_BODY_FILE WRONG_CA_FILE HUB_CA_FILE HUB_PORT HUB_FORGED_CONNECTION_STRING

const fs = require('fs')
const path = require('path')
const iotsec = require('iotsec')

const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// The guide's snippet with only its require line changed (tests/guide/README.md). The guide
// leaves `Client`, `Message`, `connectionString` and `sendInterval` to the surrounding program;
// `Client` here is the package's Client, observed: the outcome of the guide's sendEvent is
// reported, then the client is closed (the guide's program would keep running).
function snippet (guideFile, bodyFile, cs) {
  const original = fs.readFileSync(guideFile, 'utf8')
  const code = original.replace("require('azure-iot-device-mqtt')", "require('iotsec')")
  const a = original.split('\n')
  const b = code.split('\n')
  const changed = a.filter((line, i) => line !== b[i]).length
  if (changed !== 1) {
    emit({ check: 'snippet', ok: false, error: 'GUIDE_CHANGED', message: `${changed} lines changed` })
    return
  }
  let done = false
  const timer = setTimeout(() => {
    if (!done) emit({ check: 'snippet', ok: false, error: 'DRIVER_TIMEOUT', message: 'the guide never sent' })
    process.exit(1)
  }, 50000)
  class Client extends iotsec.Client {
    sendEvent (message) {
      const p = super.sendEvent(message)
      p.then(
        () => emit({ check: 'snippet', ok: true }),
        (e) => emit({ check: 'snippet', ok: false, error: e.code, message: e.message })
      ).finally(() => {
        done = true
        clearTimeout(timer)
        clearInterval(sendInterval)
        this.removeAllListeners()
        return this.close()
      })
      return p
    }
  }
  const sendInterval = setInterval(() => {}, 1 << 30)
  // eslint-disable-next-line no-new-func
  const run = new Function('require', 'Client', 'Message', 'connectionString', 'sendInterval', 'messageContent',
    `${code}\nSendSecurityMessage(messageContent);`)
  run(require, Client, iotsec.Message, cs, sendInterval, fs.readFileSync(bodyFile, 'utf8'))
}

function jsonFiles (dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(dir, f))
}

function buildMessage (v) {
  let data
  if ('body_text' in v) data = v.body_text
  else if ('body_base64' in v) data = Buffer.from(v.body_base64, 'base64')
  else data = v.body_repeat.text.repeat(v.body_repeat.count)
  const m = new iotsec.Message(data)
  const fields = {
    message_id: 'messageId',
    correlation_id: 'correlationId',
    user_id: 'userId',
    to: 'to',
    content_type: 'contentType',
    content_encoding: 'contentEncoding',
    output_name: 'outputName',
    expiry_time_utc: 'expiryTimeUtc',
    interface_id: 'interfaceId',
    component_name: 'componentName'
  }
  for (const [k, name] of Object.entries(fields)) if (k in v) m[name] = v[k]
  if (v.security) m.setAsSecurityMessage()
  for (const [key, value] of v.properties || []) m.properties.add(key, value)
  return m
}

function cs (device, module) {
  return module === undefined || module === null
    ? `HostName=localhost;DeviceId=${device};SharedAccessKey=${KEY}`
    : `HostName=localhost;DeviceId=${device};ModuleId=${module};SharedAccessKey=${KEY}`
}

async function wire (dir, ca, port) {
  const clients = new Map()
  for (const file of jsonFiles(dir)) {
    for (const c of JSON.parse(fs.readFileSync(file, 'utf8')).cases) {
      const key = JSON.stringify([c.device_id, c.module_id ?? null])
      try {
        if (!clients.has(key)) {
          const client = c.module_id != null
            ? iotsec.ModuleClient.fromConnectionString(cs(c.device_id, c.module_id), iotsec.Mqtt)
            : iotsec.Client.fromConnectionString(cs(c.device_id), iotsec.Mqtt)
          // Validation off: the wire vectors are about topics and bytes.
          await client.setOptions({ caFile: ca, port: Number(port), validation: 'off' })
          clients.set(key, client)
        }
        await clients.get(key).sendEvent(buildMessage(c.message))
        emit({ name: c.name, result: 'sent' })
      } catch (e) {
        emit({ name: c.name, error: e.code, message: e.message })
      }
    }
  }
  for (const client of clients.values()) await client.close()
}

function schema (dir) {
  for (const file of jsonFiles(dir)) {
    for (const c of JSON.parse(fs.readFileSync(file, 'utf8')).cases) {
      let body
      if ('body' in c) body = Buffer.from(JSON.stringify(c.body), 'utf8')
      else if ('body_text' in c) body = Buffer.from(c.body_text, 'utf8')
      else body = Buffer.from(c.body_base64, 'base64')
      const violations = iotsec.validate(body).map((v) =>
        v.position ? [v.pointer, v.rule, [v.position.offset, v.position.line, v.position.column]] : [v.pointer, v.rule])
      emit({ file: path.basename(file), name: c.name, is_valid: iotsec.isValid(body), violations })
    }
  }
}

async function outcome (check, fn) {
  try {
    await fn()
    emit({ check, error: null })
  } catch (e) {
    emit({ check, error: e.code ?? `not an iotsec error: ${e}`, message: e.message, violations: (e.violations || []).map((v) => [v.pointer, v.rule]) })
  }
}

async function bad (ca, port, invalidBodyFile, wrongCa, hubCa, hubPort, forged) {
  const secret = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo='
  const { Client, Message, Mqtt } = iotsec
  await outcome('connection_string_without_device_id', () => Client.fromConnectionString(`HostName=localhost;SharedAccessKey=${secret}`, Mqtt))
  await outcome('connection_string_key_not_base64', () => Client.fromConnectionString('HostName=localhost;DeviceId=conf-bad;SharedAccessKey=not a key!', Mqtt))
  await outcome('connection_string_garbage', () => Client.fromConnectionString('not a connection string', Mqtt))
  await outcome('module_connection_string_for_device_client', () => Client.fromConnectionString(cs('conf-bad', 'm'), Mqtt))

  const client = Client.fromConnectionString(cs('conf-bad-node'), Mqtt)
  await client.setOptions({ caFile: ca, port: Number(port) })
  const invalid = new Message(fs.readFileSync(invalidBodyFile))
  invalid.setAsSecurityMessage()
  await outcome('schema_invalid_security_message', () => client.sendEvent(invalid))
  await client.close()
  await outcome('send_after_close', () => client.sendEvent(new Message('sent after close')))

  const untrusted = Client.fromConnectionString(cs('conf-bad-node'), Mqtt)
  await untrusted.setOptions({ caFile: wrongCa, port: Number(port) })
  await outcome('untrusted_server_certificate', () => untrusted.open())
  await untrusted.close()
  const refused = Client.fromConnectionString(forged, Mqtt)
  await refused.setOptions({ caFile: hubCa, port: Number(hubPort) })
  await outcome('credential_refused_by_hub', () => refused.open())
  await refused.close()
}

async function main () {
  const [mode, ...args] = process.argv.slice(2)
  if (mode === 'snippet') snippet(...args)
  else if (mode === 'wire') await wire(...args)
  else if (mode === 'schema') schema(...args)
  else if (mode === 'bad') await bad(...args)
  else throw new Error(`unknown mode ${mode}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
