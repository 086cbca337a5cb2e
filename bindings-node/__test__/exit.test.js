'use strict'
// Nothing keeps the process alive once the client is closed (no dangling handles), and an open
// connection keeps it alive the way azure-iot-device's socket does. Each case is a child process.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('child_process')

const h = require('./helpers')

function runChild (script, env, ms) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--expose-gc', '-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), ms)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out, ms: Date.now() - started })
    })
  })
}

const PRELUDE = `
  const fs = require('fs')
  const { Client, Message, Mqtt } = require(${JSON.stringify(h.PKG)})
  const env = JSON.parse(process.env.BROKER)
  const client = Client.fromConnectionString(process.env.CS, Mqtt)
  const m = new Message(fs.readFileSync(${JSON.stringify(require('path').join(h.VECTORS, 'guide', 'guide_message_valid.json'))}))
  m.setAsSecurityMessage()
`

async function brokerEnv () {
  const env = await h.mosquitto()
  return { BROKER: JSON.stringify(env), IOTSEC_CA_FILE: env.ca_file, IOTSEC_MQTT_PORT: String(env.tls_port) }
}

test('the process exits by itself after open, send and close (Promises)', async () => {
  const env = await brokerEnv()
  const r = await runChild(`${PRELUDE}
    client.open().then(() => client.sendEvent(m)).then(() => client.close()).then(() => console.log('closed'))
  `, { ...env, CS: h.connectionString(h.uniqueDevice('exit')) }, 15000)
  assert.equal(r.signal, null, `killed after ${r.ms} ms: ${r.out}`)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /closed/)
})

test('the process exits by itself after callbacks: open, sendEvent, close', async () => {
  const env = await brokerEnv()
  const r = await runChild(`${PRELUDE}
    client.open((err) => {
      if (err) throw err
      client.sendEvent(m, (err2) => {
        if (err2) throw err2
        client.close((err3) => { if (err3) throw err3; console.log('closed') })
      })
    })
  `, { ...env, CS: h.connectionString(h.uniqueDevice('exitcb')) }, 15000)
  assert.equal(r.signal, null, `killed after ${r.ms} ms: ${r.out}`)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /closed/)
})

test('a client that was never opened does not keep the process alive', async () => {
  const env = await brokerEnv()
  const r = await runChild(`${PRELUDE} console.log('created')`, { ...env, CS: h.connectionString(h.uniqueDevice('idle')) }, 10000)
  assert.equal(r.signal, null, r.out)
  assert.equal(r.code, 0, r.out)
  assert.ok(r.ms < 5000, `${r.ms} ms`)
})

test('a failed open does not keep the process alive', async () => {
  const r = await runChild(`${PRELUDE}
    client.open().catch((e) => console.log('failed', e.code))
  `, { BROKER: '{}', IOTSEC_MQTT_PORT: '1', CS: h.connectionString(h.uniqueDevice('fail')) }, 15000)
  assert.equal(r.signal, null, r.out)
  assert.match(r.out, /failed CONNECTION_FAILED/)
})

test('an open connection keeps the process alive until it is closed, like azure-iot-device', async () => {
  const env = await brokerEnv()
  const r = await runChild(`${PRELUDE}
    client.open().then(() => console.log('open'))
  `, { ...env, CS: h.connectionString(h.uniqueDevice('alive')) }, 2500)
  assert.equal(r.signal, 'SIGKILL', `exited on its own (${r.code}) after ${r.ms} ms: ${r.out}`)
  assert.match(r.out, /open/)
})

test('a worker thread can use iotsec and end', async () => {
  const env = await brokerEnv()
  const r = await runChild(`
    const { Worker } = require('worker_threads')
    const w = new Worker(${JSON.stringify(`${PRELUDE}
      client.open().then(() => client.sendEvent(m)).then(() => client.close()).then(() => console.log('worker done'))
    `)}, { eval: true })
    w.on('exit', (c) => console.log('worker exit', c))
  `, { ...env, CS: h.connectionString(h.uniqueDevice('worker')) }, 15000)
  assert.equal(r.signal, null, r.out)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /worker done/)
  assert.match(r.out, /worker exit 0/)
})

test('a callback that throws surfaces as an uncaught exception, and the other outcomes still arrive', async () => {
  const env = await brokerEnv()
  const r = await runChild(`${PRELUDE}
    let thrown = 0
    process.on('uncaughtException', (e) => { thrown++; console.log('uncaught', e.message) })
    let done = 0
    client.on('connect', () => { throw new Error('from a listener') })
    for (let i = 0; i < 3; i++) client.sendEvent(m, () => { done++; throw new Error('from callback ' + i) })
    client.sendEvent(m).then(() => { done++ })
    setTimeout(() => client.close().then(() => console.log('done', done, 'thrown', thrown)), 1500)
  `, { ...env, CS: h.connectionString(h.uniqueDevice('throw')) }, 15000)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /done 4 thrown 4/)
  assert.match(r.out, /uncaught from a listener/)
  assert.match(r.out, /uncaught from callback 2/)
})

test('clients dropped without close() are garbage-collected with their native half; busy ones are kept until done', async () => {
  const env = await brokerEnv()
  const r = await runChild(`${PRELUDE}
    const native = require(${JSON.stringify(require('path').join(h.PKG, 'native', 'iotsec.linux-x64-gnu.node'))})
    const base = native.liveNativeClients()
    for (let i = 0; i < 50; i++) Client.fromConnectionString(process.env.CS.replace('DeviceId=', 'DeviceId=x' + i), Mqtt)
    // A dropped client with a send in flight still settles it.
    let settled = false
    ;(() => { const c = Client.fromConnectionString(process.env.CS, Mqtt); c.sendEvent(m).then(() => { settled = true; return c.close() }) })()
    const wait = (ms) => new Promise((r) => setTimeout(r, ms))
    ;(async () => {
      for (let i = 0; i < 50 && !settled; i++) { global.gc(); await wait(100) }
      for (let i = 0; i < 20 && native.liveNativeClients() > base; i++) { global.gc(); await wait(50) }
      console.log('settled', settled, 'left', native.liveNativeClients() - base)
    })()
  `, { ...env, CS: h.connectionString(h.uniqueDevice('gc')) }, 20000)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /settled true left 0/)
})
