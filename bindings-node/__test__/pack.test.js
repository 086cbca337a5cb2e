'use strict'
// `npm pack` produces a tarball that installs into an empty folder (offline: the package has no
// dependencies) and runs the guide's snippet from there against mosquitto.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const h = require('./helpers')

function run (cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts })
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}\n${r.stderr}`)
  return r.stdout
}

test('npm pack → install into an empty folder → the guide snippet runs from there', async () => {
  const env = await h.mosquitto()
  const dir = h.tempDir('pack')
  try {
    const out = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: h.PKG })
    const [info] = JSON.parse(out)
    const files = info.files.map((f) => f.path).sort()
    for (const f of ['index.js', 'index.d.ts', 'mqtt.js', 'mqtt.d.ts', 'package.json', 'README.md']) assert.ok(files.includes(f), `${f} is packed`)
    assert.ok(files.some((f) => /^native\/iotsec\..+\.node$/.test(f)), 'the native module is packed')
    assert.ok(!files.some((f) => f.startsWith('__test__/') || f.startsWith('src/') || f === 'Cargo.toml'), files.join(', '))

    const app = path.join(dir, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'guide-app', private: true }))
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(dir, info.filename)], { cwd: app })
    assert.ok(fs.existsSync(path.join(app, 'node_modules', 'iotsec', 'index.js')))

    // The guide's code with only its require line changed, run by a small program in that folder.
    const snippet = h.guideSnippet('iotsec')
    fs.writeFileSync(path.join(app, 'guide.js'), `'use strict'
const { Client: BaseClient, Message } = require('iotsec')
let client
class Client extends BaseClient {
  static fromConnectionString (cs, transport) { return (client = super.fromConnectionString(cs, transport)) }
  sendEvent (message) {
    return super.sendEvent(message).then((r) => { console.log('acknowledged'); return client.close() }, (e) => { console.error(e.code, e.message); process.exitCode = 1; return client.close() })
  }
}
const connectionString = process.env.CS
const sendInterval = undefined
${snippet}
SendSecurityMessage(require('fs').readFileSync(process.env.BODY, 'utf8'))
`)
    const device = h.uniqueDevice('pack')
    const r = spawnSync(process.execPath, ['guide.js'], {
      cwd: app,
      encoding: 'utf8',
      timeout: 20000,
      env: {
        ...process.env,
        CS: h.connectionString(device),
        BODY: path.join(h.VECTORS, 'guide', 'guide_message_valid.json'),
        IOTSEC_CA_FILE: env.ca_file,
        IOTSEC_MQTT_PORT: String(env.tls_port),
        NODE_PATH: ''
      }
    })
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /acknowledged/)
    const got = await h.waitForReceived(env, device, 1)
    assert.equal(got.length, 1)
    assert.equal(got[0].topic, `devices/${device}/messages/events/%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
