'use strict'
// Hostile input: null and undefined arguments, native objects used with a foreign `this`, use
// after close, bytes that are not UTF-8 and strings with lone surrogates, 10 MB bodies,
// 100,000 custom properties, JSON nested 100,000 levels deep and objects that contain
// themselves. Each gives its documented error (an Error with `.code`) quickly; none crashes
// the process, hangs or overflows the stack.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')

const iotsec = require('iotsec')
const { Client, Message, Mqtt } = iotsec
const h = require('./helpers')

const TEN_MB = 10 * 1024 * 1024
const DEPTH = 100000

/** Awaits `promise` (or calls `fn`) and checks it took under `ms`. */
async function fast (fn, ms = 2000) {
  const started = Date.now()
  try {
    return await fn()
  } finally {
    const took = Date.now() - started
    assert.ok(took < ms, `took ${took} ms`)
  }
}

/** A client whose broker does not exist (port 1): every failure here must come before any
 * connection attempt. */
async function offlineClient (name) {
  const client = Client.fromConnectionString(h.connectionString(h.uniqueDevice(name)), Mqtt)
  await client.setOptions({ port: 1 })
  return client
}

function securityMessage (data) {
  const m = new Message(data)
  m.setAsSecurityMessage()
  return m
}

function deepArray (depth) {
  let v = []
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

test('null and undefined arguments give INVALID_ARGUMENT (or INVALID_CONNECTION_STRING) errors', async () => {
  for (const bad of [null, undefined, 42, {}]) {
    assert.throws(() => Client.fromConnectionString(bad, Mqtt), { code: 'INVALID_CONNECTION_STRING' })
  }
  assert.throws(() => Client.fromConnectionString(h.connectionString('d'), null), { code: 'INVALID_ARGUMENT', message: /transportCtor/ })
  const client = await offlineClient('nulls')
  for (const bad of [null, undefined]) {
    await assert.rejects(client.sendEvent(bad), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(client.sendEvent(new Message(bad)), { code: 'INVALID_ARGUMENT', message: /message\.data/ })
    await assert.rejects(client.sendEventBatch(bad), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(client.sendEventBatch([bad]), { code: 'INVALID_ARGUMENT' })
    await assert.rejects(client.setOptions(bad), { code: 'INVALID_ARGUMENT' })
    assert.throws(() => iotsec.validate(bad), { code: 'INVALID_ARGUMENT', message: /data/ })
    assert.throws(() => iotsec.isValid(bad), { code: 'INVALID_ARGUMENT', message: /data/ })
  }
  const noName = new Message('x')
  noName.properties.add(null, 'v')
  await assert.rejects(client.sendEvent(noName), { code: 'INVALID_ARGUMENT', message: /empty name/ })
  // null for optional fields means "not set".
  const m = new Message('x')
  m.messageId = null
  m.contentType = undefined
  await assert.rejects(client.sendEvent(m), { code: 'CONNECTION_FAILED' }) // valid, so it reached the (missing) broker
  await client.close()
})

test('native objects used with a foreign or missing `this` throw, never crash', () => {
  const native = require(path.join(h.PKG, 'native', 'iotsec.linux-x64-gnu.node'))
  const proto = native.NativeClient.prototype
  for (const method of ['open', 'disconnect', 'close', 'take', 'state', 'isActive', 'release', 'keepAlive', 'sendMany']) {
    for (const self of [{}, null, undefined, Object.create(proto)]) {
      assert.throws(() => proto[method].call(self, 1), Error, `${method} on ${self}`)
    }
  }
  assert.throws(() => new native.NativeClient(), Error)
  assert.throws(() => new native.NativeClient(h.connectionString('d'), 1, null, () => {}), Error)
  assert.throws(() => native.validate(), Error)
  assert.throws(() => native.buildSecurityMessage('a', '1', '[['.repeat(DEPTH)), { code: 'INVALID_ARGUMENT', message: /recursion limit/ })
})

test('use after close: every operation fails with CLOSED, close twice is fine, no event after close', async () => {
  const env = await h.mosquitto()
  const client = Client.fromConnectionString(h.connectionString(h.uniqueDevice('afterclose')), Mqtt)
  await client.setOptions(h.tlsOptions(env))
  const events = []
  for (const name of ['connect', 'disconnect', 'reconnecting', 'error']) client.on(name, () => events.push(name))
  await client.open()
  await client.close()
  await client.close()
  const seen = events.length
  await assert.rejects(client.open(), { code: 'CLOSED' })
  await assert.rejects(client.sendEvent(new Message('x')), { code: 'CLOSED' })
  await assert.rejects(client.sendEventBatch([new Message('x')]), { code: 'CLOSED' })
  await assert.rejects(client.setOptions({ port: 1 }), { code: 'CLOSED' })
  await h.sleep(100)
  assert.equal(events.length, seen, 'no event after close')
})

test('bytes that are not UTF-8 fail validation with their offset; lone surrogates become U+FFFD as Buffer.from makes them', async () => {
  const client = await offlineClient('utf8')
  const body = Buffer.from([0x7b, 0x22, 0x41, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) // {"A":"\xff\xfe"}
  const [v] = iotsec.validate(body)
  assert.equal(v.rule, 'utf8')
  assert.equal(v.position.offset, 6)
  await assert.rejects(client.sendEvent(securityMessage(body)), (e) => e.code === 'SCHEMA_VALIDATION' && e.violations[0].rule === 'utf8')
  await client.close()

  const env = await h.mosquitto()
  const device = h.uniqueDevice('surrogate')
  const sender = Client.fromConnectionString(h.connectionString(device), Mqtt)
  await sender.setOptions(h.tlsOptions(env))
  const m = new Message('\ud800 body')
  m.messageId = 'id-\udfff'
  m.properties.add('k\ud800', 'v')
  await sender.sendEvent(m)
  await sender.close()
  const [record] = await h.waitForReceived(env, device, 1)
  assert.equal(record.topic, `devices/${device}/messages/events/%24.mid=id-%EF%BF%BD&k%EF%BF%BD=v`)
  assert.deepEqual(record.payload, Buffer.from('\ud800 body'))
})

test('10 MB bodies fail with MESSAGE_TOO_LARGE at once, before any parsing or connecting', async () => {
  const client = await offlineClient('big')
  for (const data of [Buffer.alloc(TEN_MB, '['), '['.repeat(TEN_MB), new Uint8Array(TEN_MB), new ArrayBuffer(TEN_MB)]) {
    await fast(() => assert.rejects(client.sendEvent(securityMessage(data)), { code: 'MESSAGE_TOO_LARGE', message: /262,?144/ }))
  }
  // In a batch, the first failure in message order is reported, with every message's error.
  await fast(() => assert.rejects(client.sendEventBatch([new Message(Buffer.alloc(TEN_MB)), new Message('ok')]), (e) =>
    e.code === 'MESSAGE_TOO_LARGE' && e.index === 0 && e.errors[1].code === 'CONNECTION_FAILED'))
  const violations = await fast(() => iotsec.validate('{"AgentId":"' + 'x'.repeat(TEN_MB) + '"}'), 5000)
  assert.ok(violations.length > 0)
  await client.close()
})

test('100,000 custom properties fail with MESSAGE_TOO_LARGE quickly (the topic limit), not in quadratic time', async () => {
  const client = await offlineClient('props')
  const m = new Message('{}')
  for (let i = 0; i < 100000; i++) m.properties.add(`property-${i}`, `value-${i}`)
  await fast(() => assert.rejects(client.sendEvent(m), { code: 'MESSAGE_TOO_LARGE', message: /65,?535/ }))
  await client.close()
})

test('JSON nested 100,000 levels deep: one json violation as text, SCHEMA_VALIDATION when sent, INVALID_ARGUMENT as an object', async () => {
  const client = await offlineClient('deep')
  for (const text of ['['.repeat(DEPTH) + ']'.repeat(DEPTH), '{"a":'.repeat(DEPTH) + '}'.repeat(DEPTH), '['.repeat(DEPTH)]) {
    const violations = await fast(() => iotsec.validate(text))
    assert.equal(violations.length, 1)
    assert.equal(violations[0].rule, 'json')
    assert.match(violations[0].message, /recursion limit/)
    assert.equal(iotsec.isValid(Buffer.from(text)), false)
  }
  // Sent as a security message (kept under the 256 KiB body limit).
  await fast(() => assert.rejects(client.sendEvent(securityMessage('['.repeat(DEPTH))), (e) => e.code === 'SCHEMA_VALIDATION' && e.violations[0].rule === 'json'))
  // Objects: nested too deeply for JSON.stringify, or containing themselves.
  assert.throws(() => iotsec.validate(deepArray(DEPTH)), { code: 'INVALID_ARGUMENT', message: /nested too deeply/ })
  const cyclic = { a: 1 }
  cyclic.self = cyclic
  assert.throws(() => iotsec.validate(cyclic), { code: 'INVALID_ARGUMENT', message: /circular/ })
  assert.throws(() => iotsec.isValid([cyclic]), { code: 'INVALID_ARGUMENT' })
  const event = iotsec.Event.listeningPorts({ LocalPort: '22', Protocol: 'TCP' })
  event.records.push({ Protocol: deepArray(DEPTH) })
  assert.throws(() => new iotsec.SecurityMessage('e89dc5f5-feac-4c3e-87e2-93c16f010c25', '1.0').addEvent(event).build(), { code: 'INVALID_ARGUMENT', message: /nested too deeply/ })
  const shallow = iotsec.Event.listeningPorts({ LocalPort: '22', Protocol: 'TCP' })
  shallow.records.push({ Protocol: deepArray(200) })
  assert.throws(() => new iotsec.SecurityMessage('e89dc5f5-feac-4c3e-87e2-93c16f010c25', '1.0').addEvent(shallow).build(), { code: 'INVALID_ARGUMENT', message: /recursion limit/ })
  await client.close()
})
