'use strict'
// The shared vectors (tests/vectors/), through the JavaScript API:
// - wire: each message is built with Message, sent for real over TLS to mosquitto, and the topic
//   and payload mosquitto received are compared byte for byte with the vector;
// - schema: validate() / isValid() give the vector's verdict and (pointer, rule) list;
// - upstream: Microsoft's own valid and invalid samples.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')

const iotsec = require('iotsec')
const h = require('./helpers')

function bodyOf (m) {
  if (m.body_text !== undefined) return Buffer.from(m.body_text, 'utf8')
  if (m.body_base64 !== undefined) return Buffer.from(m.body_base64, 'base64')
  return Buffer.from(m.body_repeat.text.repeat(m.body_repeat.count), 'utf8')
}

function messageOf (m) {
  const body = bodyOf(m)
  // Text bodies go in as strings (the common case), the others as Buffers.
  const message = new iotsec.Message(m.body_base64 !== undefined ? body : body.toString('utf8'))
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
  for (const [from, to] of Object.entries(fields)) {
    if (m[from] !== undefined) message[to] = m[from]
  }
  if (m.security) message.setAsSecurityMessage()
  for (const [k, v] of m.properties || []) message.properties.add(k, v)
  return { message, body }
}

test('wire vectors: every message is sent for real and mosquitto receives the exact topic and payload', async () => {
  const env = await h.mosquitto()
  const cases = h.readVectors(path.join(h.VECTORS, 'wire')).flatMap(({ doc }) => doc.cases)
  assert.ok(cases.length >= 30, `only ${cases.length} wire vectors`)
  // One client per identity at a time (one MQTT client id can only be connected once).
  const byIdentity = new Map()
  for (const c of cases) {
    const key = `${c.device_id}/${c.module_id || ''}`
    if (!byIdentity.has(key)) byIdentity.set(key, [])
    byIdentity.get(key).push(c)
  }
  let checked = 0
  for (const [, group] of byIdentity) {
    const { device_id: device, module_id: module } = group[0]
    const Cls = module ? iotsec.ModuleClient : iotsec.Client
    const client = Cls.fromConnectionString(h.connectionString(device, module), iotsec.Mqtt)
    // The vectors test encoding, not the schema: their bodies are not security messages.
    await client.setOptions({ ...h.tlsOptions(env), validation: 'off' })
    await client.open()
    const prefix = module ? `devices/${device}/modules/${module}/` : `devices/${device}/messages/`
    const seen = () => h.received(env, device).filter((r) => r.topic.startsWith(prefix))
    try {
      for (const c of group) {
        const { message, body } = messageOf(c.message)
        if (c.error) {
          await assert.rejects(client.sendEvent(message), (err) => err.code === c.error, c.name)
          checked++
          continue
        }
        const before = seen().length
        await client.sendEvent(message)
        await h.until(() => seen().length > before, 10000, `mosquitto to receive "${c.name}"`)
        const got = seen()[before]
        assert.equal(got.topic, c.topic, c.name)
        assert.ok(got.payload.equals(body), `${c.name}: payload differs`)
        assert.equal(got.qos, 1, c.name)
        checked++
      }
    } finally {
      await client.close()
    }
  }
  assert.equal(checked, cases.length)
})

function caseBody (c) {
  if (c.body !== undefined) return JSON.stringify(c.body)
  if (c.body_text !== undefined) return c.body_text
  return Buffer.from(c.body_base64, 'base64')
}

test('schema vectors: validate() and isValid() give each verdict, pointer and rule', () => {
  let total = 0
  let valid = 0
  const problems = []
  for (const { file, doc } of h.readVectors(path.join(h.VECTORS, 'schema'))) {
    for (const c of doc.cases) {
      total++
      if (c.valid) valid++
      const body = caseBody(c)
      const got = iotsec.validate(body)
      const name = `${file}: ${c.name}`
      if (iotsec.isValid(body) !== c.valid) problems.push(`${name}: isValid() = ${!c.valid}`)
      const want = (c.violations || []).map((v) => [v.pointer, v.rule])
      const have = got.map((v) => [v.pointer, v.rule])
      try {
        assert.deepEqual(have, want)
      } catch (_) {
        problems.push(`${name}: violations ${JSON.stringify(have)}, expected ${JSON.stringify(want)}`)
        continue
      }
      for (const [i, v] of (c.violations || []).entries()) {
        if (v.position) {
          try { assert.deepEqual(got[i].position, v.position) } catch (_) { problems.push(`${name}: position ${JSON.stringify(got[i].position)}`) }
        }
        for (const needle of v.message_contains || []) {
          if (!got[i].message.includes(needle)) problems.push(`${name}: message ${JSON.stringify(got[i].message)} lacks ${needle}`)
        }
      }
      // A parsed object validates the same as its text.
      if (c.body !== null && typeof c.body === 'object') assert.deepEqual(iotsec.validate(c.body), got, name)
    }
  }
  assert.deepEqual(problems, [])
  assert.ok(total >= 40 && valid >= 14, `${total} cases, ${valid} valid`)
})

test("Microsoft's upstream samples: every valid one passes, every invalid one fails", () => {
  const samples = JSON.parse(fs.readFileSync(path.join(h.VECTORS, 'schema', 'upstream', 'samples.json'), 'utf8'))
  assert.equal(samples.valid.length, 13)
  for (const [i, m] of samples.valid.entries()) assert.deepEqual(iotsec.validate(m), [], `valid[${i}]`)
  assert.equal(samples.invalid.length, 6)
  for (const [i, m] of samples.invalid.entries()) {
    assert.equal(iotsec.isValid(JSON.stringify(m)), false, `invalid[${i}]`)
    assert.ok(iotsec.validate(JSON.stringify(m)).length > 0, `invalid[${i}]`)
  }
})

test('the guide example files: the original breaks exactly at UserId, the corrected one is valid', () => {
  const original = fs.readFileSync(path.join(h.VECTORS, 'guide', 'guide_message.json'))
  assert.deepEqual(iotsec.validate(original).map((v) => [v.pointer, v.rule]), [['/Events/0/Payload/0/UserId', 'required']])
  assert.deepEqual(iotsec.validate(fs.readFileSync(path.join(h.VECTORS, 'guide', 'guide_message_valid.json'))), [])
})
