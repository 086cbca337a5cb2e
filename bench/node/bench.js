#!/usr/bin/env node
'use strict'
// Send throughput of the Node.js package `iotsec` against the official Azure IoT device SDK
// (azure-iot-device 1.18.4 + azure-iot-device-mqtt 1.16.4) and a raw rumqttc loop (the floor),
// all sending the same guide-sized security message over TLS to one mosquitto on
// 127.0.0.1:8883 (the official SDK always connects to port 8883).
//
//   node bench/node/bench.js [--count 5000] [--rounds 5] [--only iotsec,official,raw] [--json]
//
// Needs: mosquitto (scripts/install-deps.sh), the release build of the workspace
// (target/release/iotsec-testkit for certificates, target/release/examples/bench_send for the
// floor), the built package (bindings-node/native/*.node), and the official SDK installed in
// bench/node/official (`npm ci --prefix bench/node/official`; this script runs it if missing).
//
// Each (package, mode) runs in its own child process, so CPU time and peak RSS are that
// configuration's alone. Modes: (a) await each send, (b) all at once with Promise.all.
// CPU time is the process's (all threads), measured over the sends only; peak RSS is the
// child's maximum resident set. Rounds run every package back to back; the table shows the
// median run and the median of the per-round ratios (the machine may be shared and noisy).

const { spawn, spawnSync, execFileSync } = require('child_process')
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')

const ROOT = path.resolve(__dirname, '..', '..')
const TARGET = process.env.TARGET_DIR || path.join(ROOT, 'target', 'release')
const BODY_FILE = path.join(ROOT, 'tests', 'vectors', 'guide', 'bench_message.json')
const PORT = 8883
const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='

function arg (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

// ---------------------------------------------------------------------------------------------
// Child: one package, one mode.

function load (which) {
  if (which === 'iotsec') return require(arg('package', path.join(ROOT, 'bindings-node')))
  const official = path.join(__dirname, 'official', 'node_modules')
  return { ...require(path.join(official, 'azure-iot-device')), Mqtt: require(path.join(official, 'azure-iot-device-mqtt')).Mqtt }
}

// One package, one mode, one process: connect, --warmup messages (ids w0...), then --count
// measured ones (ids m0...). Also run by bench/run.sh (bench/driver.py), with --package, --port,
// --device and --warmup; it checks with a subscriber that every message arrived.
async function child () {
  const which = arg('child')
  if (process.argv.includes('--overhead')) return overhead(which)
  const mode = arg('mode')
  const count = Number(arg('count'))
  const warmup = Number(arg('warmup', '200'))
  const port = Number(arg('port', String(PORT)))
  const ca = fs.readFileSync(arg('ca'), 'utf8')
  const body = fs.readFileSync(BODY_FILE, 'utf8')
  const device = arg('device', `bench-${which}-${mode}-${process.pid}`)
  const connectionString = `HostName=localhost;DeviceId=${device};SharedAccessKey=${KEY}`
  const { Client, Message, Mqtt } = load(which)
  const t0 = process.hrtime.bigint()
  const client = Client.fromConnectionString(connectionString, Mqtt)
  // The official SDK always connects to port 8883.
  await client.setOptions(which === 'iotsec' ? { ca, port } : { ca })
  await client.open()
  const connectMs = Number(process.hrtime.bigint() - t0) / 1e6
  const make = (id) => {
    const m = new Message(body)
    m.messageId = id
    m.setAsSecurityMessage()
    return m
  }
  const send = async (prefix, n) => {
    if (mode === 'await') {
      for (let i = 0; i < n; i++) await client.sendEvent(make(prefix + i))
    } else {
      const all = new Array(n)
      for (let i = 0; i < n; i++) all[i] = client.sendEvent(make(prefix + i))
      await Promise.all(all)
    }
  }
  // Warm up: connection, JIT, buffers.
  await send('w', warmup)

  const cpu0 = process.cpuUsage()
  const t1 = process.hrtime.bigint()
  await send('m', count)
  const seconds = Number(process.hrtime.bigint() - t1) / 1e9
  const cpu = process.cpuUsage(cpu0)
  await client.close()
  const out = {
    package: which,
    mode,
    count,
    connect_ms: connectMs,
    seconds,
    msgs_per_sec: count / seconds,
    cpu_us_per_msg: (cpu.user + cpu.system) / count,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
    // VmHWM starts again at exec (maxRSS also counts the parent's memory before the exec).
    vm_hwm_kb: Number((/VmHWM:\s*(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8')) || [0, 0])[1])
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

/** Nanoseconds per call of f: the best of 5 timed loops of at least 0.2 s each. */
function perCallNs (f) {
  let n = 1000
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    for (;;) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < n; i++) f()
      const ns = Number(process.hrtime.bigint() - t0)
      if (ns >= 2e8) { best = Math.min(best, ns / n); break }
      n *= 2
    }
  }
  return best
}

// Per-call costs: message + security flag (+ message id), and validation (iotsec only).
function overhead (which) {
  const pkg = load(which)
  const body = fs.readFileSync(BODY_FILE, 'utf8')
  let keep = null
  const out = {
    create_flag_ns: perCallNs(() => { const m = new pkg.Message(body); m.setAsSecurityMessage(); keep = m }),
    create_flag_mid_ns: perCallNs(() => { const m = new pkg.Message(body); m.messageId = 'm12345'; m.setAsSecurityMessage(); keep = m })
  }
  if (which === 'iotsec') {
    if (pkg.validate(body).length !== 0 || !pkg.isValid(body)) throw new Error('the bench message is not valid')
    out.validate_ns = perCallNs(() => { keep = pkg.validate(body) })
    out.is_valid_ns = perCallNs(() => { keep = pkg.isValid(body) })
  }
  if (keep === null) throw new Error('unreachable')
  process.stdout.write(JSON.stringify(out) + '\n')
}

// Message creation + setAsSecurityMessage, in-process.
function creationCost () {
  const { Message } = require(path.join(ROOT, 'bindings-node'))
  const body = fs.readFileSync(BODY_FILE, 'utf8')
  const n = 1_000_000
  let keep
  for (let round = 0; round < 2; round++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) {
      const m = new Message(body)
      m.setAsSecurityMessage()
      keep = m
    }
    const ns = Number(process.hrtime.bigint() - t0) / n
    if (round === 1) return { ns_per_message: ns, last: keep.interfaceId }
  }
}

// ---------------------------------------------------------------------------------------------
// Parent.

function portInUse (port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

async function waitForPort (port, ms) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await portInUse(port)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`mosquitto did not listen on ${port}`)
}

function runChild (args) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (d) => { out += d })
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`child ${args.join(' ')} exited with ${code}`))
      resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })
}

function medianOf (values) {
  const v = [...values].sort((a, b) => a - b)
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
}

/** The run with the median rate (its CPU and RSS are that run's). */
function median (list) {
  const sorted = [...list].sort((a, b) => a.msgs_per_sec - b.msgs_per_sec)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

function fmt (n, digits = 0) {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

async function parent () {
  const count = Number(arg('count', '5000'))
  const rounds = Number(arg('rounds', '5'))
  const only = new Set(arg('only', 'iotsec,official,raw').split(','))
  if (await portInUse(PORT)) {
    throw new Error(`127.0.0.1:${PORT} is in use; the official SDK only connects to port 8883, so this benchmark needs it free`)
  }
  const needs = [['iotsec-testkit', ['-p', 'iotsec-testkit']], [path.join('examples', 'bench_send'), ['-p', 'iotsec', '--example', 'bench_send']]]
  for (const [file, args] of needs) {
    if (!fs.existsSync(path.join(TARGET, file))) execFileSync('cargo', ['build', '--release', ...args], { cwd: ROOT, stdio: 'inherit' })
  }
  if (!fs.existsSync(path.join(ROOT, 'bindings-node', 'native'))) {
    throw new Error('build the package first: (cd bindings-node && npm ci && npm run build)')
  }
  if (only.has('official') && !fs.existsSync(path.join(__dirname, 'official', 'node_modules', 'azure-iot-device'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: path.join(__dirname, 'official'), stdio: 'inherit' })
  }

  // Certificates from the test kit, then our own mosquitto on 8883 (no subscriber attached).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotsec-bench-node-'))
  const kit = spawn(path.join(TARGET, 'iotsec-testkit'), ['up', '--dir', path.join(dir, 'kit')], { stdio: 'ignore' })
  const envFile = path.join(dir, 'kit', 'env.json')
  for (let i = 0; i < 300 && !fs.existsSync(envFile); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const env = JSON.parse(fs.readFileSync(envFile, 'utf8'))
  kit.kill('SIGTERM')
  const pki = path.dirname(env.ca_file)
  const conf = path.join(dir, 'mosquitto.conf')
  const root = process.getuid && process.getuid() === 0 ? 'user root\n' : ''
  fs.writeFileSync(conf, `${root}per_listener_settings false\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n` +
    'max_inflight_messages 0\nmax_queued_messages 0\nlog_type error\n' +
    `listener ${PORT} 127.0.0.1\ncertfile ${pki}/server.pem\nkeyfile ${pki}/server.key\n`)
  const mosquitto = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
  const stop = () => { try { mosquitto.kill('SIGTERM') } catch (_) {} }
  process.on('exit', stop)
  try {
    await waitForPort(PORT, 10000)
    const ca = env.ca_file
    const results = {}
    const ratios = {} // per round, iotsec / raw and iotsec / official, measured back to back
    const record = (r) => { (results[`${r.package}/${r.mode}`] ||= []).push(r) }

    for (let round = 0; round < rounds; round++) {
      const got = {}
      for (const mode of ['await', 'all']) {
        if (only.has('raw')) {
          const floor = spawnSync(path.join(TARGET, 'examples', 'bench_send'),
            ['--port', String(PORT), '--ca', ca, '--count', String(count), '--inflight', '100', '--modes', mode === 'await' ? 'raw-await' : 'raw-pipelined', '--json'],
            { encoding: 'utf8' })
          if (floor.status !== 0) throw new Error(`bench_send failed: ${floor.stderr}`)
          const r = JSON.parse(floor.stdout.trim().split('\n').pop())
          got[`raw/${mode}`] = { package: 'raw', mode, count: r.count, seconds: r.seconds, msgs_per_sec: r.msgs_per_sec, cpu_us_per_msg: r.cpu_us_per_msg }
        }
        for (const which of ['iotsec', 'official']) {
          if (only.has(which)) got[`${which}/${mode}`] = await runChild(['--child', which, '--mode', mode, '--count', String(count), '--ca', ca])
        }
        for (const r of Object.values(got)) if (r.mode === mode) record(r)
        const mine = got[`iotsec/${mode}`]
        for (const other of ['raw', 'official']) {
          const o = got[`${other}/${mode}`]
          if (mine && o) (ratios[`${other}/${mode}`] ||= []).push(mine.msgs_per_sec / o.msgs_per_sec)
        }
      }
    }

    const creation = creationCost()
    const get = (k) => results[k] && median(results[k])
    const ratio = (k) => (ratios[k] ? medianOf(ratios[k]) : NaN)
    console.log(`\nNode ${process.version}, ${count} guide-sized security messages (${fs.statSync(BODY_FILE).size}-byte body) per run, TLS to mosquitto on 127.0.0.1:${PORT}; median of ${rounds} rounds (in each round the packages run back to back, and the ratios are the median of the per-round ratios)\n`)
    console.log('package    mode               msg/s   CPU µs/msg   peak RSS MiB   vs raw   vs official')
    const rows = []
    for (const mode of ['await', 'all']) {
      const raw = get(`raw/${mode}`)
      const off = get(`official/${mode}`)
      for (const which of ['raw', 'iotsec', 'official']) {
        const r = get(`${which}/${mode}`)
        if (!r) continue
        const vsRaw = which === 'iotsec' ? ratio(`raw/${mode}`) : raw ? r.msgs_per_sec / raw.msgs_per_sec : NaN
        const vsOff = which === 'iotsec' ? ratio(`official/${mode}`) : off ? r.msgs_per_sec / off.msgs_per_sec : NaN
        const label = mode === 'await' ? '(a) await each' : '(b) Promise.all'
        console.log(`${which.padEnd(10)} ${label.padEnd(16)} ${fmt(r.msgs_per_sec).padStart(8)}   ${fmt(r.cpu_us_per_msg, 1).padStart(10)}   ${r.peak_rss_mib ? fmt(r.peak_rss_mib, 1).padStart(12) : '           -'}   ${fmt(vsRaw, 2).padStart(6)}   ${fmt(vsOff, 2).padStart(11)}`)
        rows.push({ ...r, ratio_to_raw: vsRaw, ratio_to_official: vsOff })
      }
    }
    console.log(`\nnew Message(body) + setAsSecurityMessage(): ${fmt(creation.ns_per_message, 0)} ns per message`)
    console.log('(raw = rumqttc alone, in Rust, awaiting each PUBACK / 100 in flight: the floor; its CPU is reported at 10 ms resolution)')
    if (process.argv.includes('--json')) console.log(JSON.stringify({ rows, rounds: results, ratios, creation_ns: creation.ns_per_message }))
    // Every round, for judging the spread.
    for (const mode of ['await', 'all']) {
      const line = (which) => (results[`${which}/${mode}`] || []).map((r) => fmt(r.msgs_per_sec)).join(' ')
      console.log(`${mode === 'await' ? '(a)' : '(b)'} per round: raw ${line('raw')} | iotsec ${line('iotsec')} | official ${line('official')}`)
    }
  } finally {
    stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv.includes('--child')) {
  child().catch((e) => { console.error(e); process.exit(1) })
} else {
  parent().catch((e) => { console.error(`bench: ${e.message}`); process.exit(1) })
}
