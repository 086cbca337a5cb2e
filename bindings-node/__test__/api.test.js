'use strict'
// The azure-iot-device-shaped API against a real mosquitto over TLS: Message, callbacks and
// Promises, events, batches, module outputs, options, back-pressure.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')

const iotsec = require('iotsec')
const { Client, ModuleClient, Message, Mqtt, results } = iotsec
const h = require('./helpers')

const VALID = fs.readFileSync(path.join(h.VECTORS, 'guide', 'guide_message_valid.json'), 'utf8')
const IFID = '%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1'

function securityMessage (body = VALID) {
  const m = new Message(body)
  m.setAsSecurityMessage()
  return m
}

async function connectedClient (env, device, Cls = Client, module) {
  const client = Cls.fromConnectionString(h.connectionString(device, module), Mqtt)
  await client.setOptions(h.tlsOptions(env))
  return client
}

test('Message mirrors azure-iot-common: fields, properties, setAsSecurityMessage sets only the interface id', () => {
  const m = new Message('{"a":1}')
  assert.equal(m.getData(), '{"a":1}')
  assert.deepEqual(m.getBytes(), Buffer.from('{"a":1}'))
  for (const f of ['messageId', 'correlationId', 'userId', 'to', 'contentType', 'contentEncoding', 'expiryTimeUtc', 'interfaceId']) {
    assert.equal(m[f], undefined, f)
  }
  assert.equal(m.isSecurityMessage(), false)
  m.contentEncoding = 'utf-8'
  m.setAsSecurityMessage()
  assert.equal(m.interfaceId, 'urn:azureiot:Security:SecurityAgent:1')
  assert.equal(m.interfaceId, iotsec.SECURITY_INTERFACE_ID)
  assert.equal(m.contentEncoding, 'utf-8')
  assert.equal(m.contentType, undefined)
  assert.equal(m.isSecurityMessage(), true)
  assert.equal(m.properties.add('k1', 'v1'), true)
  m.properties.add('k2', 'v2')
  assert.equal(m.properties.count(), 2)
  assert.deepEqual(m.properties.getItem(1), { key: 'k2', value: 'v2' })
  assert.equal(m.properties.getValue('k1'), 'v1')
  assert.equal(m.properties.getValue('nope'), undefined)
  assert.ok(Message.isBufferConvertible('x') && Message.isBufferConvertible(Buffer.alloc(1)) && !Message.isBufferConvertible(5))
  assert.deepEqual(new Message(new Uint8Array([1, 2])).getBytes(), Buffer.from([1, 2]))
})

test('creating a message and flagging it costs well under 2 µs', () => {
  let last
  const n = 200000
  for (let round = 0; round < 2; round++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) {
      const m = new Message(VALID)
      m.setAsSecurityMessage()
      last = m
    }
    const ns = Number(process.hrtime.bigint() - t0) / n
    if (round === 1) assert.ok(ns < 2000, `${ns} ns per message`)
  }
  assert.equal(last.isSecurityMessage(), true)
})

test('open, sendEvent and close work with Promises and with Node-style callbacks', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('api')
  const client = await connectedClient(env, device)
  let connects = 0
  client.on('connect', () => connects++)
  const opened = await client.open()
  assert.ok(opened instanceof results.Connected)
  // Callbacks are called asynchronously, with (null, result).
  let sync = true
  const viaCallback = new Promise((resolve, reject) => {
    const r = client.sendEvent(securityMessage(), (err, result) => (err ? reject(err) : resolve({ result, sync })))
    assert.equal(r, undefined)
  })
  sync = false
  // A failure found before sending is reported asynchronously too.
  let failedSync = true
  const early = new Promise((resolve) => client.sendEvent(null, (err) => resolve({ err, failedSync })))
  failedSync = false
  assert.equal((await early).failedSync, false)
  assert.equal((await early).err.code, 'INVALID_ARGUMENT')
  assert.equal((await viaCallback).sync, false)
  assert.ok((await viaCallback).result instanceof results.MessageEnqueued)
  assert.ok((await client.sendEvent(securityMessage())) instanceof results.MessageEnqueued)
  await new Promise((resolve, reject) => client.open((err, r) => (err ? reject(err) : (assert.ok(r instanceof results.Connected), resolve()))))
  const got = await h.waitForReceived(env, device, 2)
  assert.equal(got.length, 2)
  assert.equal(got[0].topic, `devices/${device}/messages/events/${IFID}`)
  await h.until(() => connects === 1, 5000, 'the connect event')
  const closed = await new Promise((resolve, reject) => client.close((err, r) => (err ? reject(err) : resolve(r))))
  assert.ok(closed instanceof results.Disconnected)
})

test('every body type azure-iot-device accepts is sent byte for byte; every system property reaches the topic', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('bodies')
  const client = await connectedClient(env, device)
  await client.setOptions({ validation: 'off' })
  const bodies = [
    ['string é', Buffer.from('string é')],
    [Buffer.from([0, 1, 2, 255]), Buffer.from([0, 1, 2, 255])],
    [new Uint8Array([9, 8, 7]), Buffer.from([9, 8, 7])],
    [new Uint8Array([1, 2, 3, 4]).buffer, Buffer.from([1, 2, 3, 4])],
    [[65, 66], Buffer.from('AB')],
    ['', Buffer.alloc(0)]
  ]
  for (const [data] of bodies) await client.sendEvent(new Message(data))
  const m = new Message('{}')
  m.messageId = 'mid sp/sl!*\'()~é'
  m.correlationId = 5678 // numbers are sent as text, as azure-iot-device does
  m.userId = 'userid'
  m.contentType = 'application/json'
  m.contentEncoding = 'utf-8'
  m.expiryTimeUtc = new Date(Date.UTC(2019, 1, 2))
  m.setAsSecurityMessage()
  m.properties.add('uni', 'é€')
  m.properties.add('n', 7)
  await client.sendEvent(m)
  await client.close()
  const got = await h.waitForReceived(env, device, bodies.length + 1)
  for (const [i, [, bytes]] of bodies.entries()) assert.deepEqual(got[i].payload, bytes, `body ${i}`)
  assert.equal(got[bodies.length].topic,
    `devices/${device}/messages/events/%24.mid=mid%20sp%2Fsl%21%2A%27%28%29~%C3%A9&%24.cid=5678&%24.uid=userid&%24.ct=application%2Fjson&%24.ce=utf-8&${IFID}&%24.exp=2019-02-02T00%3A00%3A00.000Z&uni=%C3%A9%E2%82%AC&n=7`)
})

test('a message carries its bytes as they were at sendEvent: reusing the buffer right after is safe', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('reuse')
  const client = await connectedClient(env, device)
  const buffer = Buffer.from('first')
  const sent = client.sendEvent(new Message(buffer))
  buffer.write('XXXXX')
  await sent
  await client.close()
  const [got] = await h.waitForReceived(env, device, 1)
  assert.equal(got.payload.toString(), 'first')
})

test('sendEventBatch sends every message in order and resolves once all are acknowledged', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('batch')
  const client = await connectedClient(env, device)
  const messages = Array.from({ length: 50 }, (_, i) => {
    const m = securityMessage()
    m.messageId = `m${i}`
    return m
  })
  assert.ok((await client.sendEventBatch(messages)) instanceof results.MessageEnqueued)
  const got = await h.waitForReceived(env, device, 50)
  assert.deepEqual(got.map((r) => /%24\.mid=(m\d+)/.exec(r.topic)[1]), messages.map((m) => m.messageId))
  // One bad message: the others are still sent, the error says which one failed.
  const mixed = [securityMessage(), securityMessage('{"AgentId":"x"}'), securityMessage()]
  await assert.rejects(client.sendEventBatch(mixed), (err) => {
    assert.equal(err.code, 'SCHEMA_VALIDATION')
    assert.equal(err.index, 1)
    assert.equal(err.errors.length, 2)
    assert.equal(err.errors[0], undefined)
    return true
  })
  assert.equal((await h.waitForReceived(env, device, 52)).length, 52)
  await new Promise((resolve, reject) => client.sendEventBatch([], (err) => (err ? reject(err) : resolve())))
  await client.close()
})

test('ModuleClient sends on the module topic; sendOutputEvent adds $.on', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('mod')
  const client = await connectedClient(env, device, ModuleClient, 'mod1')
  assert.equal(client.deviceId, device)
  assert.equal(client.moduleId, 'mod1')
  await client.sendEvent(securityMessage())
  await client.sendOutputEvent('alerts', securityMessage())
  await client.sendOutputEventBatch('alerts', [securityMessage()])
  await client.close()
  const got = await h.waitForReceived(env, device, 3)
  assert.deepEqual(got.map((r) => r.topic), [
    `devices/${device}/modules/mod1/messages/events/${IFID}`,
    `devices/${device}/modules/mod1/messages/events/%24.on=alerts&${IFID}`,
    `devices/${device}/modules/mod1/messages/events/%24.on=alerts&${IFID}`
  ])
  assert.ok(h.connections(env).some((c) => c.clientId === `${device}/mod1`))
})

test('a security message built with the typed builders is sent and validates', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('built')
  const client = await connectedClient(env, device)
  const message = new iotsec.SecurityMessage('e89dc5f5-feac-4c3e-87e2-93c16f010c25', '1.0.0')
    .addEvent(iotsec.Event.processCreate({ Executable: '/usr/bin/myApp', ProcessId: 1, ParentProcessId: 1, UserId: '0', CommandLine: 'myApp' }))
    .buildMessage()
  message.messageId = 'golden-msg-0001'
  message.properties.add('customProp', 'customValue')
  await client.sendEvent(message)
  await client.close()
  const [got] = await h.waitForReceived(env, device, 1)
  assert.equal(got.topic, `devices/${device}/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&${IFID}&customProp=customValue`)
  assert.deepEqual(iotsec.validate(got.payload), [])
})

test('a full queue never blocks the event loop: sends wait (block) or fail fast (failFast), in order', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('queue')
  const client = await connectedClient(env, device)
  await client.setOptions({ queueCapacity: 4, maxInFlight: 2 })
  await client.open()
  const n = 300
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const all = []
  for (let i = 0; i < n; i++) {
    const m = securityMessage()
    m.messageId = `q${i}`
    all.push(client.sendEvent(m))
  }
  await Promise.all(all)
  clearInterval(timer)
  const got = await h.waitForReceived(env, device, n)
  assert.deepEqual(got.map((r) => /%24\.mid=(q\d+)/.exec(r.topic)[1]), Array.from({ length: n }, (_, i) => `q${i}`))
  assert.ok(ticks > 0, 'timers ran while sends waited for room')
  await client.setOptions({ queuePolicy: 'failFast' })
  const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => client.sendEvent(securityMessage())))
  const full = outcomes.filter((o) => o.status === 'rejected')
  assert.ok(full.length > 0, 'some sends found the queue full')
  for (const o of full) assert.equal(o.reason.code, 'QUEUE_FULL')
  assert.ok(outcomes.some((o) => o.status === 'fulfilled'))
  await client.close()
})

test('setOptions on an open client reconnects with the new options and keeps sending', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('reopt')
  const client = await connectedClient(env, device)
  let connects = 0
  client.on('connect', () => connects++)
  await client.open()
  await client.sendEvent(securityMessage())
  await client.setOptions({ keepalive: 30 })
  await client.sendEvent(securityMessage())
  await client.close()
  assert.equal((await h.waitForReceived(env, device, 2)).length, 2)
  await h.until(() => connects >= 2, 5000, 'a second connect event')
})

test("validation 'warn' and 'off' send a body that breaks the schema; 'strict' (the default) refuses it", async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('modes')
  const client = await connectedClient(env, device)
  await assert.rejects(client.sendEvent(securityMessage('{}')), { code: 'SCHEMA_VALIDATION' })
  await client.setOptions({ validation: 'warn' })
  await client.sendEvent(securityMessage('{}'))
  await client.setOptions({ validation: 'off' })
  await client.sendEvent(securityMessage('not json'))
  await client.close()
  assert.deepEqual((await h.waitForReceived(env, device, 2)).map((r) => r.payload.toString()), ['{}', 'not json'])
})
