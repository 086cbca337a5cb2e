'use strict'
// Bad input and failures give documented errors: an Error with a stable `.code`, a message that
// names what is wrong and never contains a key or signature.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')

const iotsec = require('iotsec')
const { Client, ModuleClient, Message, Mqtt, ErrorCode, ErrorCodeNumber } = iotsec
const h = require('./helpers')

const VALID = fs.readFileSync(path.join(h.VECTORS, 'guide', 'guide_message_valid.json'), 'utf8')

function securityMessage (body = VALID) {
  const m = new Message(body)
  m.setAsSecurityMessage()
  return m
}

function expectError (fn, code, pattern) {
  let caught
  try {
    fn()
  } catch (e) {
    caught = e
  }
  assert.ok(caught instanceof Error, 'an Error was thrown')
  assert.equal(caught.code, code, caught.message)
  if (pattern) assert.match(caught.message, pattern)
  return caught
}

test('error codes are the core ErrorKind names with their stable numbers', () => {
  assert.deepEqual(Object.keys(ErrorCode), [
    'INVALID_ARGUMENT', 'INVALID_CONNECTION_STRING', 'INVALID_CREDENTIAL', 'SCHEMA_VALIDATION', 'MESSAGE_TOO_LARGE',
    'CONNECTION_FAILED', 'TLS', 'CREDENTIAL_REFUSED', 'CONNECTION_LOST', 'TIMEOUT', 'CLOSED', 'QUEUE_FULL', 'IO', 'INTERNAL'
  ])
  for (const [i, name] of Object.keys(ErrorCode).entries()) {
    assert.equal(ErrorCode[name], name)
    assert.equal(ErrorCodeNumber[name], i + 1)
  }
})

test('a wrong connection string is refused by fromConnectionString, naming the key at fault', () => {
  const key = 'NMgJDvdKTxjLi+xBxxkDDEwDJxEvOE5u8BiT0mVgPeg='
  expectError(() => Client.fromConnectionString(`DeviceId=d;SharedAccessKey=${key}`, Mqtt), 'INVALID_CONNECTION_STRING', /HostName/)
  expectError(() => Client.fromConnectionString(`HostName=h;SharedAccessKey=${key}`, Mqtt), 'INVALID_CONNECTION_STRING', /DeviceId/)
  expectError(() => Client.fromConnectionString('HostName=h;DeviceId=d', Mqtt), 'INVALID_CONNECTION_STRING', /SharedAccessKey/)
  expectError(() => Client.fromConnectionString('not a connection string', Mqtt), 'INVALID_CONNECTION_STRING')
  expectError(() => Client.fromConnectionString('', Mqtt), 'INVALID_CONNECTION_STRING')
  expectError(() => Client.fromConnectionString(undefined, Mqtt), 'INVALID_CONNECTION_STRING')
  // Device vs module.
  expectError(() => Client.fromConnectionString(h.connectionString('d', 'm'), Mqtt), 'INVALID_CONNECTION_STRING', /ModuleId/)
  expectError(() => ModuleClient.fromConnectionString(h.connectionString('d'), Mqtt), 'INVALID_CONNECTION_STRING', /ModuleId/)
  // A key that is not base64: refused, and the message does not echo it.
  const secret = 'c2VjcmV0!!not-base64!!c2VjcmV0'
  const e = expectError(() => Client.fromConnectionString(`HostName=h;DeviceId=d;SharedAccessKey=${secret}`, Mqtt), 'INVALID_CONNECTION_STRING', /SharedAccessKey/)
  assert.ok(!e.message.includes(secret) && !String(e.stack).includes(secret), e.message)
  // The transport must be iotsec's Mqtt.
  expectError(() => Client.fromConnectionString(h.connectionString('d')), 'INVALID_ARGUMENT', /Mqtt/)
  expectError(() => Client.fromConnectionString(h.connectionString('d'), class Amqp {}), 'INVALID_ARGUMENT', /Mqtt/)
})

test('bad options are refused by name', async () => {
  const client = Client.fromConnectionString(h.connectionString(h.uniqueDevice('opts')), Mqtt)
  const cases = [
    [{ port: '8883' }, /options\.port/],
    [{ port: 70000 }, /options\.port/],
    [{ port: 1.5 }, /options\.port/],
    [{ keepalive: 5000 }, /keep_alive|1,767/],
    [{ keepalive: -1 }, /options\.keepalive/],
    [{ validation: 'sometimes' }, /validation/],
    [{ queuePolicy: 'drop' }, /queuePolicy/],
    [{ cert: 'PEM' }, /certFile/],
    [null, /options/]
  ]
  for (const [options, pattern] of cases) {
    await assert.rejects(client.setOptions(options), (err) => {
      assert.equal(err.code, 'INVALID_ARGUMENT', JSON.stringify(options))
      assert.match(err.message, pattern)
      return true
    })
  }
  const err = await new Promise((resolve) => client.setOptions({ port: 'x' }, resolve))
  assert.equal(err.code, 'INVALID_ARGUMENT')
  assert.throws(() => client.open(42), { code: 'INVALID_ARGUMENT' })
  await client.close()
})

test('a schema-invalid security message fails with SCHEMA_VALIDATION and violations, and is not sent', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('schema')
  const client = Client.fromConnectionString(h.connectionString(device), Mqtt)
  await client.setOptions(h.tlsOptions(env))
  const body = JSON.parse(VALID)
  body.Events[0].Payload[0].ProcessId = 'eleven'
  delete body.AgentId
  await assert.rejects(client.sendEvent(securityMessage(JSON.stringify(body))), (err) => {
    assert.equal(err.code, 'SCHEMA_VALIDATION')
    assert.deepEqual(err.violations.map((v) => [v.pointer, v.rule]), [['/AgentId', 'required'], ['/Events/0/Payload/0/ProcessId', 'type']])
    for (const v of err.violations) assert.equal(typeof v.message, 'string')
    assert.match(err.message, /AgentId/)
    return true
  })
  const notJson = await new Promise((resolve) => client.sendEvent(securityMessage('{"a": tru }'), resolve))
  assert.equal(notJson.code, 'SCHEMA_VALIDATION')
  assert.equal(notJson.violations[0].rule, 'json')
  const at = notJson.violations[0].position
  assert.equal(at.line, 1)
  assert.ok(at.offset >= 6 && at.offset <= 10 && at.column === at.offset + 1, JSON.stringify(at))
  // The same body without the security flag is ordinary telemetry: sent.
  await client.sendEvent(new Message(JSON.stringify(body)))
  await client.close()
  const got = await h.waitForReceived(env, device, 1)
  assert.equal(got.length, 1)
  assert.ok(!got[0].topic.includes('ifid'))
})

test('sending after close fails with CLOSED (Promise and callback); so do open and setOptions', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('closed')
  const client = Client.fromConnectionString(h.connectionString(device), Mqtt)
  await client.setOptions(h.tlsOptions(env))
  await client.sendEvent(securityMessage())
  const closing = client.close()
  await assert.rejects(client.sendEvent(securityMessage()), { code: 'CLOSED' })
  await closing
  await assert.rejects(client.sendEvent(securityMessage()), { code: 'CLOSED', message: /closed/ })
  const viaCallback = await new Promise((resolve) => client.sendEvent(securityMessage(), (err, result) => resolve({ err, result })))
  assert.equal(viaCallback.err.code, 'CLOSED')
  assert.equal(viaCallback.result, undefined)
  await assert.rejects(client.sendEventBatch([securityMessage()]), { code: 'CLOSED' })
  await assert.rejects(client.open(), { code: 'CLOSED' })
  await assert.rejects(client.setOptions({}), { code: 'CLOSED' })
  await client.close() // closing twice is fine
  assert.equal((await h.waitForReceived(env, device, 1)).length, 1)
})

test('connection failures: untrusted server certificate (TLS), nobody listening (CONNECTION_FAILED)', async () => {
  const env = await h.mosquitto()
  const tls = Client.fromConnectionString(h.connectionString(h.uniqueDevice('tls')), Mqtt)
  await tls.setOptions({ ca: fs.readFileSync(env.wrong_ca_file, 'utf8'), port: env.tls_port })
  await assert.rejects(tls.open(), (err) => {
    assert.equal(err.code, 'TLS')
    assert.match(err.message, /certificate|CA/i)
    return true
  })
  await assert.rejects(tls.sendEvent(securityMessage()), { code: 'TLS' })
  await tls.close()
  const refused = Client.fromConnectionString(h.connectionString(h.uniqueDevice('nobody')), Mqtt)
  const net = require('net')
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port
      srv.close(() => resolve(p))
    })
  })
  await refused.setOptions({ ca: fs.readFileSync(env.ca_file, 'utf8'), port })
  const err = await new Promise((resolve) => refused.open(resolve))
  assert.equal(err.code, 'CONNECTION_FAILED')
  assert.match(err.message, new RegExp(String(port)))
  await refused.close()
})

test('the hub refuses a wrong key with CREDENTIAL_REFUSED and the CONNACK code; the key is never echoed', async () => {
  const hubEnv = await h.hub()
  const device = h.uniqueDevice('refused')
  h.hubAddDevice(hubEnv, device)
  const wrongKey = Buffer.alloc(32, 7).toString('base64')
  const client = Client.fromConnectionString(`HostName=localhost;DeviceId=${device};SharedAccessKey=${wrongKey}`, Mqtt)
  await client.setOptions({ ca: fs.readFileSync(hubEnv.ca_file, 'utf8'), port: hubEnv.tls_port })
  await assert.rejects(client.open(), (err) => {
    assert.equal(err.code, 'CREDENTIAL_REFUSED')
    assert.ok(err.connackCode === 4 || err.connackCode === 5, `CONNACK ${err.connackCode}`)
    assert.ok(!err.message.includes(wrongKey))
    assert.ok(!/sig=/.test(err.message), 'no SAS signature in the message')
    return true
  })
  await client.close()
})

test('bad message arguments: missing message, unsupported data, empty property name, oversized body', async () => {
  const env = await h.mosquitto()
  const client = Client.fromConnectionString(h.connectionString(h.uniqueDevice('badmsg')), Mqtt)
  await client.setOptions(h.tlsOptions(env))
  await assert.rejects(client.sendEvent(undefined), { code: 'INVALID_ARGUMENT', message: /message/ })
  await assert.rejects(client.sendEvent(new Message(42)), { code: 'INVALID_ARGUMENT', message: /message\.data/ })
  await assert.rejects(client.sendEvent(new Message({ a: 1 })), { code: 'INVALID_ARGUMENT', message: /message\.data/ })
  const empty = new Message('x')
  empty.properties.add('', 'v')
  await assert.rejects(client.sendEvent(empty), { code: 'INVALID_ARGUMENT', message: /empty name/ })
  await assert.rejects(client.sendEvent(new Message(Buffer.alloc(262145))), { code: 'MESSAGE_TOO_LARGE', message: /262,?144/ })
  await assert.rejects(client.sendEventBatch('nope'), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => client.sendEvent(new Message('x'), 'not a function'), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => iotsec.ModuleClient.fromConnectionString(h.connectionString('d', 'm'), Mqtt).sendOutputEvent('', new Message('x')), { code: 'INVALID_ARGUMENT' })
  await client.close()
})

test('builders and validate(): errors name the field at fault', () => {
  assert.throws(() => new iotsec.Event('ProcessStart'), { code: 'INVALID_ARGUMENT', message: /ProcessStart/ })
  assert.throws(() => new iotsec.SecurityMessage(42, '1'), { code: 'INVALID_ARGUMENT', message: /agentId/ })
  assert.throws(() => new iotsec.SecurityMessage('a', '1').addEvent({}), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => iotsec.validate(42), { code: 'INVALID_ARGUMENT', message: /data/ })
  const err = (() => {
    try {
      new iotsec.SecurityMessage('e89dc5f5-feac-4c3e-87e2-93c16f010c25', '1.0.0')
        .addEvent(iotsec.Event.processCreate({ Executable: '/bin/x', ProcessId: 1, ParentProcessId: 1, CommandLine: 'x' }))
        .build()
    } catch (e) {
      return e
    }
  })()
  assert.equal(err.code, 'SCHEMA_VALIDATION')
  assert.deepEqual(err.violations.map((v) => [v.pointer, v.rule]), [['/Events/0/Payload/0/UserId', 'required']])
})
