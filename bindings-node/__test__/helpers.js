'use strict'
// Shared helpers of the node:test suites: the real brokers (mosquitto via iotsec-testkit, the
// local hub), what they received, and the shared vectors.
//
// The suites talk to real brokers on 127.0.0.1 only. scripts/test-node.sh starts them and
// exports IOTSEC_TEST_ENV (mosquitto + recorder) and IOTSEC_TEST_HUB_ENV (the hub); run alone,
// a suite starts what it needs itself (and stops it, by its PID, when the process ends).

const { spawn, spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')

const PKG = path.resolve(__dirname, '..')
const ROOT = path.resolve(PKG, '..')
const TARGET_DIR = process.env.TARGET_DIR || path.join(ROOT, 'target', process.env.IOTSEC_PROFILE === 'dev' ? 'debug' : 'release')
const VECTORS = path.join(ROOT, 'tests', 'vectors')
const GUIDE = path.join(ROOT, 'tests', 'guide')
const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='

const started = []
process.on('exit', () => {
  for (const p of started) {
    try { process.kill(p.pid, 'SIGTERM') } catch (_) {}
  }
})

function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function waitForFile (file, ms = 30000) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    try {
      if (fs.statSync(file).size > 0) return
    } catch (_) {}
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${file}`)
}

function tempDir (name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `iotsec-node-${name}-`))
}

/** Starts a private mosquitto + recorder (iotsec-testkit up) and returns its env.json contents
 * plus `testkitPid`. */
async function startMosquitto () {
  const dir = tempDir('mq')
  const child = spawn(path.join(TARGET_DIR, 'iotsec-testkit'), ['up', '--dir', dir], { stdio: 'ignore' })
  started.push(child)
  await waitForFile(path.join(dir, 'env.json'))
  const env = JSON.parse(fs.readFileSync(path.join(dir, 'env.json'), 'utf8'))
  env.testkitPid = child.pid
  env.dir = dir
  return env
}

let sharedMosquitto
/** The suite's mosquitto: IOTSEC_TEST_ENV when set, else one started for this process. */
async function mosquitto () {
  if (!sharedMosquitto) {
    sharedMosquitto = process.env.IOTSEC_TEST_ENV
      ? Promise.resolve(JSON.parse(fs.readFileSync(process.env.IOTSEC_TEST_ENV, 'utf8')))
      : startMosquitto()
  }
  return sharedMosquitto
}

let sharedHub
/** The local hub: IOTSEC_TEST_HUB_ENV when set, else one started for this process. */
async function hub () {
  if (!sharedHub) {
    sharedHub = (async () => {
      if (process.env.IOTSEC_TEST_HUB_ENV) return JSON.parse(fs.readFileSync(process.env.IOTSEC_TEST_HUB_ENV, 'utf8'))
      const dir = tempDir('hub')
      const ready = path.join(dir, 'hub.json')
      const child = spawn(path.join(TARGET_DIR, 'iotsec'), ['hub', '--data-dir', path.join(dir, 'data'), '--port', '0', '--plain-port', '0', '--ready-file', ready], { stdio: 'ignore' })
      started.push(child)
      await waitForFile(ready)
      return JSON.parse(fs.readFileSync(ready, 'utf8'))
    })()
  }
  return sharedHub
}

/** A local hub this test owns: `kill()` sends SIGKILL to its PID, `start()` starts it again
 * on the same port with the same data (registry, CA, stores). */
class PrivateHub {
  constructor () {
    this.dir = tempDir('privhub')
    this.dataDir = path.join(this.dir, 'data')
    this.port = 0
    this.starts = 0
    this.child = undefined
  }

  async start () {
    this.starts += 1
    const ready = path.join(this.dir, `ready-${this.starts}.json`)
    const args = ['hub', '--data-dir', this.dataDir, '--port', String(this.port), '--ready-file', ready]
    this.child = spawn(path.join(TARGET_DIR, 'iotsec'), args, { stdio: 'ignore' })
    started.push(this.child)
    await waitForFile(ready)
    const info = JSON.parse(fs.readFileSync(ready, 'utf8'))
    this.port = info.tls_port
    this.env = { ...info, data_dir: this.dataDir }
    return this
  }

  kill () {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => {
      child.once('exit', () => resolve())
      process.kill(child.pid, 'SIGKILL')
    })
  }

  stop () {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => {
      child.once('exit', () => resolve())
      process.kill(child.pid, 'SIGTERM')
    })
  }

  options () {
    return { ca: fs.readFileSync(this.env.ca_file, 'utf8'), port: this.port }
  }

  addDevice (deviceId) {
    return hubAddDevice(this.env, deviceId)
  }

  records (store, deviceId) {
    return hubRecords(this.env, store, deviceId)
  }
}

/** Registers a device (or module) with the hub; returns its connection string. */
function hubAddDevice (hubEnv, deviceId, moduleId) {
  const args = ['hub', 'add-device', '--data-dir', hubEnv.data_dir, deviceId]
  if (moduleId) args.push('--module', moduleId)
  const r = spawnSync(path.join(TARGET_DIR, 'iotsec'), args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`iotsec hub add-device failed: ${r.stderr}`)
  return r.stdout.trim().split('\n').pop()
}

/** Records the hub stored in `store` (security | dropped | telemetry) for `deviceId`. */
function hubRecords (hubEnv, store, deviceId) {
  const file = path.join(hubEnv.store_dir || path.join(hubEnv.data_dir, 'store'), `${store}.jsonl`)
  let text = ''
  try { text = fs.readFileSync(file, 'utf8') } catch (_) { return [] }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.device_id === deviceId)
}

async function waitForHubRecords (hubEnv, store, deviceId, count, ms = 15000) {
  const until = Date.now() + ms
  for (;;) {
    const got = hubRecords(hubEnv, store, deviceId)
    if (got.length >= count || Date.now() > until) return got
    await sleep(50)
  }
}

const receivedCache = new Map() // file -> { offset, rest, records }

/** PUBLISH packets mosquitto received whose topic starts with `devices/{deviceId}/` (the
 * recorder's JSON Lines file, read incrementally). */
function received (env, deviceId) {
  const file = env.received_file
  let cache = receivedCache.get(file)
  if (!cache) {
    cache = { offset: 0, rest: '', records: [] }
    receivedCache.set(file, cache)
  }
  try {
    const fd = fs.openSync(file, 'r')
    try {
      const size = fs.fstatSync(fd).size
      if (size < cache.offset) Object.assign(cache, { offset: 0, rest: '', records: [] })
      if (size > cache.offset) {
        const buf = Buffer.alloc(size - cache.offset)
        fs.readSync(fd, buf, 0, buf.length, cache.offset)
        cache.offset = size
        const lines = (cache.rest + buf.toString('utf8')).split('\n')
        cache.rest = lines.pop()
        for (const l of lines) {
          if (!l) continue
          const r = JSON.parse(l)
          cache.records.push(r)
        }
      }
    } finally {
      fs.closeSync(fd)
    }
  } catch (e) {
    if (e.code !== 'ENOENT') throw e
  }
  const prefix = `devices/${deviceId}/`
  return cache.records.filter((r) => r.topic.startsWith(prefix))
    .map((r) => ({ ...r, payload: Buffer.from(r.payload_base64, 'base64') }))
}

async function waitForReceived (env, deviceId, count, ms = 15000) {
  const until = Date.now() + ms
  for (;;) {
    const got = received(env, deviceId)
    if (got.length >= count || Date.now() > until) return got
    await sleep(30)
  }
}

/** `(clientId, username)` of every CONNECT mosquitto logged. */
function connections (env) {
  let text = ''
  try { text = fs.readFileSync(env.log_file, 'utf8') } catch (_) { return [] }
  const out = []
  const re = /New client connected from \S+ as (\S+) \([^)]*\bu'([^']*)'\)/g
  let m
  while ((m = re.exec(text)) !== null) out.push({ clientId: m[1], username: m[2] })
  return out
}

let counter = 0
/** A device id nobody else uses in this run. */
function uniqueDevice (prefix = 'node') {
  counter += 1
  return `${prefix}-${process.pid}-${counter}`
}

function connectionString (deviceId, moduleId) {
  return `HostName=localhost;DeviceId=${deviceId}${moduleId ? `;ModuleId=${moduleId}` : ''};SharedAccessKey=${KEY}`
}

/** Options that reach the test mosquitto over TLS. */
function tlsOptions (env) {
  return { ca: fs.readFileSync(env.ca_file, 'utf8'), port: env.tls_port }
}

function readVectors (dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ file: f, doc: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }))
}

/** The guide's Node.js snippet with its require line changed to `module` (and nothing else). */
function guideSnippet (module) {
  const original = fs.readFileSync(path.join(GUIDE, 'node.js'), 'utf8')
  const changed = original.replace("require('azure-iot-device-mqtt')", `require('${module}')`)
  const a = original.split('\n')
  const b = changed.split('\n')
  const diff = a.map((line, i) => (line === b[i] ? null : i)).filter((i) => i !== null)
  if (diff.length !== 1 || !/^var Protocol = require\(/.test(b[diff[0]])) {
    throw new Error(`changing the require line changed lines ${diff}`)
  }
  return changed
}

/**
 * Runs the guide snippet with `Client`, `Message`, `connectionString` and `sendInterval` in
 * scope (the guide leaves them to the surrounding program) and calls
 * `SendSecurityMessage(messageContent)`. Returns the clients the snippet created and the
 * promises its sendEvent calls returned.
 */
function runGuide ({ code, requireFn, iotsec, connectionString, messageContent }) {
  const clients = []
  const sends = []
  class GuideClient extends iotsec.Client {
    static fromConnectionString (cs, transport) {
      const c = super.fromConnectionString(cs, transport)
      clients.push(c)
      return c
    }

    sendEvent (message, callback) {
      const p = super.sendEvent(message, callback)
      if (p) {
        p.catch(() => {}) // the test inspects it; the guide ignores it
        sends.push(p)
      }
      return p
    }
  }
  const sendInterval = setInterval(() => {}, 1 << 30)
  sendInterval.unref()
  // eslint-disable-next-line no-new-func
  const run = new Function('require', 'Client', 'Message', 'connectionString', 'sendInterval', 'messageContent',
    `${code}\nSendSecurityMessage(messageContent);`)
  run(requireFn, GuideClient, iotsec.Message, connectionString, sendInterval, messageContent)
  return { clients, sends, stop: () => clearInterval(sendInterval) }
}

async function until (predicate, ms = 10000, what = 'condition') {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

module.exports = {
  PKG,
  ROOT,
  TARGET_DIR,
  VECTORS,
  GUIDE,
  KEY,
  sleep,
  until,
  tempDir,
  startMosquitto,
  mosquitto,
  hub,
  hubAddDevice,
  hubRecords,
  PrivateHub,
  waitForHubRecords,
  received,
  waitForReceived,
  connections,
  uniqueDevice,
  connectionString,
  tlsOptions,
  readVectors,
  guideSnippet,
  runGuide
}
