'use strict'
// Connection events against a real local hub that the test kills by its PID and starts again
// on the same port: 'connect', then 'disconnect' (with the error and the reason) and
// 'reconnecting' (each attempt, numbered, with its reason), then 'connect' again; a message
// sent during the outage is acknowledged after the reconnect and stored by the hub. A token
// renewal is a planned reconnect: 'reconnecting' with attempt 0 and EXPIRED_SAS_TOKEN, no
// 'disconnect'.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const iotsec = require('iotsec')
const { Client, Message, Mqtt, results } = iotsec
const h = require('./helpers')

/** Records every event of `client` in order. */
function recordEvents (client) {
  const events = []
  client.on('connect', () => events.push({ name: 'connect' }))
  client.on('disconnect', (r) => events.push({ name: 'disconnect', result: r }))
  client.on('reconnecting', (r) => events.push({ name: 'reconnecting', ...r }))
  client.on('error', (e) => events.push({ name: 'error', error: e }))
  return events
}

test('hub killed by PID and restarted: connect, disconnect with its reason, reconnecting attempts, connect; the outage send completes', async () => {
  const hub = await new h.PrivateHub().start()
  try {
    const device = h.uniqueDevice('evhub')
    const client = Client.fromConnectionString(hub.addDevice(device), Mqtt)
    await client.setOptions(hub.options())
    const events = recordEvents(client)
    await client.open()
    await h.until(() => events.some((e) => e.name === 'connect'), 5000, 'connect')

    await hub.kill()
    await h.until(() => events.some((e) => e.name === 'disconnect'), 10000, 'disconnect')
    const lost = events.find((e) => e.name === 'disconnect').result
    assert.ok(lost instanceof results.Disconnected)
    assert.equal(lost.transportObj.code, 'CONNECTION_LOST')
    assert.equal(lost.reason, 'connection lost')
    assert.equal(lost.statusReason, 'NO_NETWORK')
    const first = events.find((e) => e.name === 'reconnecting')
    assert.equal(first.attempt, 1)
    assert.equal(first.reason, 'NO_NETWORK')
    assert.equal(first.error.code, 'CONNECTION_LOST')

    // Sent while the hub is down: waits, then completes after the reconnect.
    let settled = false
    const outage = new Message('{"during":"outage"}')
    outage.messageId = 'outage-1'
    const during = client.sendEvent(outage)
    during.then(() => { settled = true }, () => { settled = true })
    await h.sleep(300)
    assert.equal(settled, false, 'the send waits while the hub is down')
    await hub.start()
    await during
    await h.until(() => events.filter((e) => e.name === 'connect').length === 2, 15000, 'a second connect')
    const stored = hub.records('telemetry', device)
    assert.deepEqual(stored.map((r) => r.message_id), ['outage-1'])

    // Every event in order: connect, disconnect (with the first attempt), attempts numbered
    // 1, 2, ..., connect.
    const names = events.map((e) => e.name)
    assert.equal(names[0], 'connect')
    assert.equal(names[names.length - 1], 'connect')
    const attempts = events.filter((e) => e.name === 'reconnecting').map((e) => e.attempt)
    assert.deepEqual(attempts, attempts.map((_, i) => i + 1))
    assert.equal(names.filter((n) => n === 'disconnect').length, 1)
    await client.close()
  } finally {
    await hub.stop()
  }
})

test("a token renewal is a planned reconnect: 'reconnecting' with attempt 0 and EXPIRED_SAS_TOKEN, no 'disconnect'", async () => {
  const hubEnv = await h.hub()
  const device = h.uniqueDevice('evrenew')
  const client = Client.fromConnectionString(h.hubAddDevice(hubEnv, device), Mqtt)
  const fs = require('fs')
  await client.setOptions({ ca: fs.readFileSync(hubEnv.ca_file, 'utf8'), port: hubEnv.tls_port, tokenRenewal: { tokenValidTimeInSeconds: 5 } })
  const events = recordEvents(client)
  await client.open()
  const started = Date.now()
  let sent = 0
  while (Date.now() - started < 8000 && !events.some((e) => e.name === 'reconnecting')) {
    const m = new Message('tick')
    m.messageId = `tick-${sent++}`
    await client.sendEvent(m)
    await h.sleep(100)
  }
  await h.until(() => events.filter((e) => e.name === 'connect').length >= 2, 10000, 'the reconnect after the renewal')
  const renewal = events.find((e) => e.name === 'reconnecting')
  assert.equal(renewal.attempt, 0)
  assert.equal(renewal.reason, 'EXPIRED_SAS_TOKEN')
  assert.ok(!events.some((e) => e.name === 'disconnect' || e.name === 'error'), JSON.stringify(events.map((e) => e.name)))
  const after = new Message('after')
  after.messageId = 'after-renewal'
  await client.sendEvent(after)
  await client.close()
  const stored = await h.waitForHubRecords(hubEnv, 'telemetry', device, sent + 1)
  assert.equal(stored.length, sent + 1)
})
