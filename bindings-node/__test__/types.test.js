'use strict'
// index.d.ts is written by hand; these tests keep it honest: it compiles a program that uses
// the whole API under `tsc --strict`, it declares exactly what index.js exports, and its record
// interfaces match the published schema files (names, required vs optional).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const iotsec = require('iotsec')
const h = require('./helpers')

const DTS = fs.readFileSync(path.join(h.PKG, 'index.d.ts'), 'utf8')
const SCHEMAS = path.join(h.ROOT, 'core', 'src', 'schema', 'files')

test('tsc --strict --noEmit passes on examples/full-api.ts (the whole public API)', () => {
  const tsc = path.join(h.PKG, 'node_modules', 'typescript', 'bin', 'tsc')
  const r = spawnSync(process.execPath, [tsc, '--strict', '--noEmit', '-p', path.join(h.PKG, 'examples', 'tsconfig.json')], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

test('index.d.ts declares exactly the runtime exports of index.js and mqtt.js', () => {
  const declared = new Set()
  for (const m of DTS.matchAll(/^export declare (?:const|class|function|namespace) (\w+)/gm)) declared.add(m[1])
  assert.deepEqual([...declared].sort(), Object.keys(iotsec).sort())
  const mqttDts = fs.readFileSync(path.join(h.PKG, 'mqtt.d.ts'), 'utf8')
  assert.match(mqttDts, /export \{ Mqtt \} from '\.\/index'/)
  assert.deepEqual(Object.keys(require('iotsec/mqtt')), ['Mqtt'])
  assert.equal(require('iotsec/mqtt').Mqtt, iotsec.Mqtt)
})

function union (name) {
  const m = new RegExp(`export type ${name} =([^]*?)\\n\\n`).exec(DTS)
  assert.ok(m, name)
  return [...m[1].matchAll(/'(\w+)'/g)].map((x) => x[1])
}

test('the ErrorCodeName and EventKindName unions list the runtime values, in order', () => {
  assert.deepEqual(union('ErrorCodeName'), Object.keys(iotsec.ErrorCode))
  assert.deepEqual(union('EventKindName'), Object.keys(iotsec.EventKind))
})

test('every Event factory is declared with its kind, and only those', () => {
  const declared = [...DTS.matchAll(/^ {2}static (\w+)\(\.\.\.records: (\w+)Record\[\]\): Event<'(\w+)'>/gm)]
  const runtime = Object.getOwnPropertyNames(iotsec.Event).filter((n) => typeof iotsec.Event[n] === 'function' && !['length', 'name', 'prototype'].includes(n))
  assert.deepEqual(declared.map((m) => m[1]).sort(), runtime.sort())
  for (const [, name, record, kind] of declared) {
    assert.equal(record, kind, name)
    assert.equal(iotsec.Event[name]().kind, kind)
  }
  assert.equal(declared.length, 14)
})

test('the record interfaces match the published schema files: every field, required vs optional, enums', () => {
  const files = fs.readdirSync(SCHEMAS).filter((f) => /^message(Event|OperationalEvent)\w+_v1_0\.json$/.test(f) && f !== 'messageEventTypeDefinitions_v1_0.json')
  assert.equal(files.length, 14)
  const referenced = {}
  for (const f of ['messageEventTypeDefinitions_v1_0.json', 'message_v1_0.json']) referenced[f] = JSON.parse(fs.readFileSync(path.join(SCHEMAS, f), 'utf8'))
  let checked = 0
  let enums = 0
  for (const file of files) {
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, file), 'utf8'))
    const kind = schema.properties.Name.enum[0]
    const items = schema.properties.Payload.items
    const m = new RegExp(`export interface ${kind}Record \\{\\n([^]*?)\\n\\}`).exec(DTS)
    assert.ok(m, `${kind}Record is declared`)
    const fields = {}
    for (const line of m[1].split('\n')) {
      const f = /^ {2}(\w+)(\?)?: (.+)$/.exec(line)
      if (f) fields[f[1]] = { optional: !!f[2], type: f[3] }
    }
    assert.deepEqual(Object.keys(fields).sort(), Object.keys(items.properties).sort(), kind)
    const required = new Set(items.required || [])
    for (const [name, f] of Object.entries(fields)) {
      assert.equal(!f.optional, required.has(name), `${kind}.${name} required`)
      // Enums: the declared string literals are exactly the schema's.
      let prop = items.properties[name]
      for (let hops = 0; prop.$ref && hops < 5; hops++) {
        const [file, pointer] = prop.$ref.split('#/')
        assert.ok(referenced[file], prop.$ref)
        prop = pointer.split('/').reduce((o, k) => o[k], referenced[file])
      }
      const type = prop.type || [...(prop.oneOf || []), ...(prop.anyOf || [])].map((x) => x.type)[0]
      const literals = [...f.type.matchAll(/'([^']+)'/g)].map((x) => x[1])
      if (prop.enum) {
        assert.deepEqual(literals.sort(), [...prop.enum].sort(), `${kind}.${name} enum`)
        enums++
      } else if (type === 'integer' || type === 'number') {
        assert.equal(f.type, 'number', `${kind}.${name}`)
      } else if (type === 'boolean') {
        assert.equal(f.type, 'boolean', `${kind}.${name}`)
      } else if (name === 'ExtraDetails') {
        assert.equal(f.type, 'ExtraDetails')
      } else {
        assert.equal(type, 'string', `${kind}.${name}: schema ${JSON.stringify(prop)}`)
        assert.equal(f.type, 'string', `${kind}.${name}`)
      }
      checked++
    }
  }
  assert.ok(checked > 90, `${checked} fields`)
  assert.equal(enums, 9, `${enums} enums`)
})
