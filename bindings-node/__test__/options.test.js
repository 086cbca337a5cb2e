'use strict'
// Client options are read by iotsec's core (ClientOptions::set_by_name, the same rules in every
// package); this layer only maps names and turns values into text. Real TLS to mosquitto on
// 127.0.0.1: messageIds, durableQueue, the reconnect back-off, and bad values named.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')

const { Client, Message, Mqtt } = require('iotsec')
const h = require('./helpers')

const UUID_MID = /%24\.mid=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}(&|$)/

test("messageIds: 'whenUnset' gives a message without an id a $.mid; one with an id keeps it", async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('mid')
  const client = Client.fromConnectionString(h.connectionString(device), Mqtt)
  await client.setOptions({ ...h.tlsOptions(env), messageIds: 'whenUnset' })
  await client.sendEvent(new Message('no id of its own'))
  const own = new Message('an id of its own')
  own.messageId = 'mine-1'
  await client.sendEvent(own)
  await client.close()
  const topics = (await h.waitForReceived(env, device, 2)).map((r) => r.topic).sort()
  assert.equal(topics.length, 2, topics.join())
  assert.ok(topics.includes(`devices/${device}/messages/events/%24.mid=mine-1`), topics.join())
  assert.equal(topics.filter((t) => UUID_MID.test(t)).length, 1, topics.join())
})

test('by default a message without an id is sent without $.mid', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('nomid')
  const client = Client.fromConnectionString(h.connectionString(device), Mqtt)
  await client.setOptions(h.tlsOptions(env))
  await client.sendEvent(new Message('no id'))
  await client.close()
  const got = await h.waitForReceived(env, device, 1)
  assert.deepEqual(got.map((r) => r.topic), [`devices/${device}/messages/events/`])
})

test('durableQueue: the file is made and a send completes; the reconnect back-off options are taken', async () => {
  const env = await h.mosquitto()
  const device = h.uniqueDevice('durable')
  const dir = h.tempDir('durable')
  const queue = path.join(dir, 'queue.redb')
  const client = Client.fromConnectionString(h.connectionString(device), Mqtt)
  await client.setOptions({ ...h.tlsOptions(env), durableQueue: queue, reconnectInitial: 200, reconnectMax: 2000, reconnectJitter: 0.2 })
  await client.sendEvent(new Message('kept until acknowledged'))
  await client.close()
  assert.ok(fs.existsSync(queue), `${queue} exists`)
  const got = await h.waitForReceived(env, device, 1)
  assert.equal(got[0].payload.toString(), 'kept until acknowledged')
})

test('bad values are refused with INVALID_ARGUMENT naming the option (core reads them)', async () => {
  const client = Client.fromConnectionString(h.connectionString(h.uniqueDevice('badopts')), Mqtt)
  const cases = [
    [{ messageIds: 'always' }, /options\.messageIds: option `message_ids`: `always` is not valid; expected one of `never`, `when_unset`/],
    [{ reconnectJitter: 1.5 }, /options\.reconnectJitter.*0 to 1/],
    [{ reconnectInitial: -1 }, /options\.reconnectInitial.*milliseconds/],
    [{ reconnectMax: Infinity }, /options\.reconnectMax/],
    [{ sendTimeout: NaN }, /options\.sendTimeout/],
    [{ maxInFlight: 70000 }, /options\.maxInFlight.*1 to 65535/],
    [{ durableQueue: 5 }, /options\.durableQueue must be a string/],
    [{ messageIds: true }, /options\.messageIds must be a string/]
  ]
  for (const [options, pattern] of cases) {
    await assert.rejects(client.setOptions(options), (err) => {
      assert.equal(err.code, 'INVALID_ARGUMENT', JSON.stringify(options))
      assert.match(err.message, pattern)
      return true
    })
  }
  // A refused setOptions leaves the earlier options in force; the latest spelling wins.
  await client.setOptions({ keepAlive: 30 })
  await client.setOptions({ keepalive: 40 })
  await client.close()
})
