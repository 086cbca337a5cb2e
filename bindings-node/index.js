'use strict'
// iotsec for Node.js: the azure-iot-device / azure-iot-device-mqtt API the Microsoft guide uses
// (Client, ModuleClient, Message, Mqtt), over the iotsec Rust core.
//
// This file only adapts shapes: callbacks and Promises, EventEmitter events, Message objects.
// Validation, topic encoding, SAS tokens, the MQTT session and reconnects all live in the core
// (native/iotsec.*.node). Nothing here blocks the event loop: outcomes arrive in batches through
// one thread-safe function per client (see Channel.drain).

const { EventEmitter } = require('events')
const path = require('path')

const native = loadNative()

function platformTriple () {
  const { platform, arch } = process
  if (platform === 'linux') {
    let musl = false
    try {
      const header = process.report && process.report.getReport().header
      musl = !(header && header.glibcVersionRuntime)
    } catch (_) {
      musl = false
    }
    return `linux-${arch}-${musl ? 'musl' : 'gnu'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function loadNative () {
  const triple = platformTriple()
  const dir = path.join(__dirname, 'native')
  const candidates = [`iotsec.${triple}.node`, 'iotsec.node']
  const failures = []
  for (const name of candidates) {
    try {
      return require(path.join(dir, name))
    } catch (e) {
      if (e && e.code === 'MODULE_NOT_FOUND') continue
      failures.push(`${name}: ${e && e.message}`)
    }
  }
  const detail = failures.length ? ` (${failures.join('; ')})` : ''
  throw new Error(`iotsec: no native module for ${triple} in ${dir}${detail}; build it with \`npm run build\` in the iotsec package`)
}

// ---------------------------------------------------------------------------------------------
// Errors: every failure is an Error with a stable `.code` (the core's ErrorKind name).

/** The stable error codes, e.g. ErrorCode.SCHEMA_VALIDATION === 'SCHEMA_VALIDATION'. */
const ErrorCode = Object.freeze(Object.fromEntries(native.errorKinds().map(([name]) => [name, name])))
/** The stable numeric value of each code (the same numbers in every iotsec language). */
const ErrorCodeNumber = Object.freeze(Object.fromEntries(native.errorKinds()))

function iotsecError (code, message) {
  const e = new Error(message)
  e.code = code
  return e
}

function argumentError (message) {
  return iotsecError(ErrorCode.INVALID_ARGUMENT, message)
}

function closedError () {
  return iotsecError(ErrorCode.CLOSED, 'the client is closed')
}

function rethrowLater (e) {
  process.nextTick(() => { throw e })
}

// ---------------------------------------------------------------------------------------------
// Results, as azure-iot-common names them.

class Connected {
  constructor (transportObj) { this.transportObj = transportObj }
}
class Disconnected {
  constructor (error, reason, statusReason) {
    this.transportObj = error
    this.reason = reason
    // iotsec: why, as the SDKs' status callbacks name it (NO_NETWORK, BAD_CREDENTIAL, ...)
    if (statusReason !== undefined) this.statusReason = statusReason
  }
}
class MessageEnqueued {
  constructor (transportObj) { this.transportObj = transportObj }
}
const results = Object.freeze({ Connected, Disconnected, MessageEnqueued })

// ---------------------------------------------------------------------------------------------
// Message

const SECURITY_INTERFACE_ID = native.securityInterfaceId()

/** Custom (application) properties of a message, in insertion order. */
class Properties {
  constructor () {
    /** `[{ key, value }, ...]` */
    this.propertyList = []
  }

  /** Adds a property (values are sent as strings). Always returns true. */
  add (itemKey, itemValue) {
    this.propertyList.push({ key: itemKey, value: itemValue })
    return true
  }

  getItem (index) {
    return this.propertyList[index]
  }

  getValue (key) {
    for (const p of this.propertyList) if (p.key === key) return p.value
    return undefined
  }

  count () {
    return this.propertyList.length
  }
}

/** A device-to-cloud message (a security message after setAsSecurityMessage()). */
class Message {
  constructor (data) {
    this.data = data
    this.properties = new Properties()
    this.messageId = undefined
    this.to = undefined
    this.expiryTimeUtc = undefined
    this.lockToken = undefined
    this.correlationId = undefined
    this.userId = undefined
    this.ack = undefined
    this.contentType = undefined
    this.contentEncoding = undefined
    this.interfaceId = undefined
    /** iotsec: output name ($.on), for module messages routed to an output. */
    this.outputName = undefined
    /** iotsec: component name ($.sub, IoT Plug and Play). */
    this.componentName = undefined
  }

  getData () {
    return this.data
  }

  getBytes () {
    const d = this.data
    if (Buffer.isBuffer(d)) return d
    if (d instanceof Uint8Array) return Buffer.from(d.buffer, d.byteOffset, d.byteLength)
    return Buffer.from(d)
  }

  /** Marks this message as a security message ($.ifid = urn:azureiot:Security:SecurityAgent:1). */
  setAsSecurityMessage () {
    this.interfaceId = SECURITY_INTERFACE_ID
  }

  /** iotsec: whether setAsSecurityMessage() was called (the interface id is the security one). */
  isSecurityMessage () {
    return this.interfaceId === SECURITY_INTERFACE_ID
  }

  static isBufferConvertible (obj) {
    return Buffer.isBuffer(obj) || typeof obj === 'string' || Array.isArray(obj) || obj instanceof ArrayBuffer || obj instanceof Uint8Array
  }
}

function text (v) {
  if (v === undefined || v === null) return undefined
  return typeof v === 'string' ? v : String(v)
}

/** The body as the native side reads it: a string, or bytes copied now (the message is sent a
 * moment later, and the caller may reuse its buffer at once). */
function bodyOf (d) {
  if (typeof d === 'string') return d
  if (d instanceof Uint8Array) return Buffer.from(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength))
  if (d instanceof ArrayBuffer) return Buffer.from(d.slice(0))
  if (Array.isArray(d)) return Buffer.from(d)
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength))
  return d // anything else: the core names `message.data` in its error
}

function propertiesOf (message) {
  const props = message.properties
  const list = props && props.propertyList
  if (!list || list.length === 0) return undefined
  const flat = new Array(list.length * 2)
  for (let i = 0; i < list.length; i++) {
    const p = list[i]
    flat[2 * i] = text(p.key) || ''
    flat[2 * i + 1] = text(p.value) || ''
  }
  return flat
}

// ---------------------------------------------------------------------------------------------
// Waiters: who hears about an operation's outcome (a Node-style callback, a Promise, or one
// message of a batch).

class CallbackWaiter {
  constructor (callback, Result) {
    this.callback = callback
    this.Result = Result
  }

  settle (err) {
    try {
      if (err) this.callback(err)
      else this.callback(null, this.Result === undefined ? undefined : new this.Result())
    } catch (e) {
      rethrowLater(e)
    }
  }
}

class PromiseWaiter {
  constructor (resolve, reject, Result) {
    this.resolve = resolve
    this.reject = reject
    this.Result = Result
  }

  settle (err) {
    if (err) this.reject(err)
    else this.resolve(this.Result === undefined ? undefined : new this.Result())
  }
}

class Batch {
  constructor (size, waiter) {
    this.remaining = size
    this.errors = undefined
    this.waiter = waiter
  }

  member (index, err) {
    if (err) {
      if (this.errors === undefined) this.errors = []
      this.errors[index] = err
    }
    if (--this.remaining === 0) {
      let first
      if (this.errors !== undefined) {
        for (const e of this.errors) {
          if (e !== undefined) { first = e; break }
        }
        first.index = this.errors.indexOf(first)
        first.errors = this.errors
      }
      this.waiter.settle(first)
    }
  }
}

class BatchMember {
  constructor (batch, index) {
    this.batch = batch
    this.index = index
  }

  settle (err) {
    this.batch.member(this.index, err)
  }
}

/** Runs `start(waiter)` with a waiter for `callback`, or returns a Promise when there is none. */
function withWaiter (callback, Result, start) {
  if (callback !== undefined && callback !== null) {
    if (typeof callback !== 'function') throw argumentError('the callback must be a function')
    start(new CallbackWaiter(callback, Result))
    return undefined
  }
  return new Promise((resolve, reject) => start(new PromiseWaiter(resolve, reject, Result)))
}

function failSoon (waiter, err) {
  process.nextTick(() => waiter.settle(err))
}

// ---------------------------------------------------------------------------------------------
// Channel: one native client and its bookkeeping. A Client has one at a time (setOptions
// replaces it; the old one finishes what it has and closes).

// Channels that wait for something (an outcome, or a connection that is up) are held here, so
// a client the application dropped still settles what it started. Idle ones are held by their
// client only: a client dropped without close() is garbage-collected with its native half.
const LIVE = new Set()

/** The thread-safe function's callback. It holds its channel weakly (a closure made inside the
 * Channel constructor would share that scope, `this` included): the thread-safe function keeps
 * its callback alive as long as it exists. */
function drainer (channel) {
  const weak = new WeakRef(channel)
  return () => {
    const c = weak.deref()
    if (c !== undefined) c.drain()
  }
}

class Channel {
  constructor (owner, options) {
    this.owner = owner
    this.inflight = 0 // operations whose outcome will come through this channel
    this.alive = false // the thread-safe function keeps the event loop alive
    this.closing = false
    this.closed = false
    this.released = false
    this.state = 'disconnected'
    this.up = false // 'connect' was emitted and no 'disconnect' since
    this.outbox = [] // messages not yet handed to the native side (see flush)
    this.outboxIds = []
    this.flushQueued = false
    this.flushNow = () => this.flush()
    this.native = new native.NativeClient(owner._connectionString, owner._identityKind, nativeOptions(options), drainer(this))
  }

  /** Hands the collected messages to the native side, in order. */
  flush () {
    this.flushQueued = false
    if (this.outboxIds.length === 0) return
    const out = this.outbox
    const ids = this.outboxIds
    this.outbox = []
    this.outboxIds = []
    try {
      this.native.sendMany(out)
    } catch (e) {
      // Only a broken batch gets here (never a bad message: those fail one by one).
      this.inflight -= ids.length
      for (const id of ids) this.owner._settle(id, e)
      this.keepAlive()
    }
  }

  /** Issues operation `op` ('open' | 'disconnect' | 'close') for `waiter`, after the messages
   * sent before it. */
  operation (op, waiter) {
    this.flush()
    const id = this.owner._register(waiter)
    this.inflight++
    this.native[op](id)
    this.keepAlive()
  }

  /** The thread-safe function's callback: settles everything that completed, until nothing
   * is left (outcomes arriving meanwhile are picked up here, without another wake-up). */
  drain () {
    const owner = this.owner
    let batch
    while ((batch = this.native.take()) !== null) {
      const ok = batch.ok
      this.inflight -= ok.length
      for (let i = 0; i < ok.length; i++) owner._settle(ok[i], null)
      const failed = batch.failed
      if (failed !== undefined) {
        this.inflight -= failed.length / 2
        for (let i = 0; i < failed.length; i += 2) owner._settle(failed[i], failed[i + 1])
      }
      const states = batch.states
      if (states !== undefined) {
        for (let i = 0; i < states.length; i++) this.onState(states[i])
      }
    }
    this.keepAlive()
  }

  /** Every connection state change, in order (none is skipped): `{ state, reason, status?,
   * attempt?, error? }`. */
  onState (s) {
    this.state = s.state
    if (this.owner._channel !== this || this.closing) return
    const owner = this.owner
    // A listener that throws must not cost the rest of the batch its outcomes.
    try {
      switch (s.state) {
        case 'connected':
          this.up = true
          owner.emit('connect')
          break
        case 'reconnecting':
          // iotsec: each reconnect attempt, numbered; attempt 0 is a planned one (token
          // renewal: reason EXPIRED_SAS_TOKEN), which is not a disconnection.
          owner.emit('reconnecting', { attempt: s.attempt, reason: s.reason, error: s.error })
          if (s.attempt === 0) break
          if (this.up) {
            this.up = false
            owner.emit('disconnect', new Disconnected(s.error, 'connection lost', s.reason))
          } else if (owner.listenerCount('error') > 0) {
            owner.emit('error', s.error)
          }
          break
        default:
          this.up = false
          break
      }
    } catch (e) {
      rethrowLater(e)
    }
  }

  /** References the thread-safe function while anything is outstanding or a connection is up;
   * releases it for good once closed and idle. */
  keepAlive () {
    if (this.released) return
    if (this.closed && this.inflight === 0) {
      this.released = true
      this.alive = false
      LIVE.delete(this)
      this.native.keepAlive(false)
      this.native.release()
      return
    }
    const want = this.inflight > 0 || this.native.isActive()
    if (want !== this.alive) {
      this.alive = want
      if (want) LIVE.add(this)
      else LIVE.delete(this)
      this.native.keepAlive(want)
    }
  }

  /** Closes this channel when it is no longer the client's (setOptions). */
  retire () {
    if (this.closing) return
    this.closing = true
    this.operation('close', { settle: () => { this.closed = true } })
  }
}

// Each option: its JavaScript type and core's name for it (core reads the value as text:
// ClientOptions::set_by_name, the same rules in every iotsec package). Durations are seconds
// except sendTimeout, connectTimeout, reconnectInitial and reconnectMax: milliseconds, as
// JavaScript timers count.
const OPTIONS = {
  ca: ['string', 'ca_pem'],
  caFile: ['string', 'ca_file'],
  port: ['number', 'port'],
  keepalive: ['number', 'keep_alive'],
  keepAlive: ['number', 'keep_alive'],
  validation: ['string', 'validation'],
  maxInFlight: ['number', 'max_in_flight'],
  queueCapacity: ['number', 'queue_capacity'],
  queuePolicy: ['string', 'queue_policy'],
  sendTimeout: ['number', 'puback_timeout_ms'],
  connectTimeout: ['number', 'connect_timeout_ms'],
  tokenLifetime: ['number', 'token_lifetime'],
  certFile: ['string', 'client_cert_file'],
  keyFile: ['string', 'client_key_file'],
  durableQueue: ['string', 'durable_queue'],
  reconnectInitial: ['number', 'reconnect_initial_ms'],
  reconnectMax: ['number', 'reconnect_max_ms'],
  reconnectJitter: ['number', 'reconnect_jitter'],
  messageIds: ['string', 'message_ids']
}

/** Checks JavaScript types and normalises names (`keepalive` as azure-iot-device spells it, or
 * `keepAlive`); the values themselves are checked by core when the client is made. */
function normalizeOptions (options) {
  if (options === null || typeof options !== 'object') throw argumentError('options must be an object')
  const out = {}
  for (const key of Object.keys(options)) {
    let value = options[key]
    if (value === undefined || value === null) continue
    if (key === 'ca' && Buffer.isBuffer(value)) value = value.toString('utf8')
    if (key === 'tokenRenewal') {
      const seconds = value && value.tokenValidTimeInSeconds
      if (typeof seconds !== 'number') throw argumentError('options.tokenRenewal.tokenValidTimeInSeconds must be a number')
      out.tokenLifetime = seconds
      continue
    }
    if (key === 'cert' || key === 'key') {
      throw argumentError(`options.${key}: iotsec reads the client certificate and key from files: use options.certFile and options.keyFile`)
    }
    const spec = OPTIONS[key]
    if (spec === undefined) continue // options of azure-iot-device that do not apply (productInfo, modelId, mqtt, ...)
    if (typeof value !== spec[0]) throw argumentError(`options.${key} must be a ${spec[0]}`)
    out[key] = value
  }
  return out
}

/** `update` over `old`: a key set again moves to the end (core applies options in order, so the
 * latest wins), and setting `keepalive` forgets `keepAlive` and the other way round. */
function mergeOptions (old, update) {
  const merged = Object.assign({}, old)
  for (const key of Object.keys(update)) {
    delete merged[key]
    if (key === 'keepalive') delete merged.keepAlive
    if (key === 'keepAlive') delete merged.keepalive
  }
  return Object.assign(merged, update)
}

/** The options as core reads them: [{ name, option, value }] with the value as text. */
function nativeOptions (o) {
  const out = []
  for (const key of Object.keys(o)) {
    out.push({ name: key, option: OPTIONS[key][1], value: String(o[key]) })
  }
  out.push({ name: 'productInfo', option: 'product_info', value: `node ${process.versions.node}` })
  return out
}

// ---------------------------------------------------------------------------------------------
// The transport marker and the clients.

/** The MQTT transport (over TLS, port 8883 unless options.port / IOTSEC_MQTT_PORT say otherwise).
 * Pass the class itself to fromConnectionString, as with azure-iot-device-mqtt. */
class Mqtt {}
Mqtt.iotsecTransport = 'mqtt'

function checkTransport (transportCtor) {
  if (transportCtor === Mqtt || (transportCtor && transportCtor.iotsecTransport === 'mqtt')) return
  if (transportCtor === undefined || transportCtor === null) {
    throw argumentError("transportCtor is missing: pass Mqtt (require('iotsec').Mqtt)")
  }
  throw argumentError("transportCtor: iotsec sends over its own MQTT transport only; pass require('iotsec').Mqtt")
}

const IDENTITY_DEVICE = 1
const IDENTITY_MODULE = 2

class InternalClient extends EventEmitter {
  /** Use Client.fromConnectionString / ModuleClient.fromConnectionString. */
  constructor (connectionString, identityKind) {
    super()
    if (typeof connectionString !== 'string' || connectionString.length === 0) {
      throw iotsecError(ErrorCode.INVALID_CONNECTION_STRING, 'the connection string must be a non-empty string')
    }
    this._connectionString = connectionString
    this._identityKind = identityKind
    this._options = {}
    this._pending = new Map()
    this._nextId = 0
    this._closing = false
    this._closed = false
    this._closeWaiters = []
    this._channel = new Channel(this, this._options)
  }

  /** The device id this client sends as. */
  get deviceId () {
    return this._channel.native.deviceId
  }

  /** The module id, or null for a device client. */
  get moduleId () {
    return this._channel.native.moduleId
  }

  _register (waiter) {
    const id = this._nextId = (this._nextId + 1) >>> 0
    this._pending.set(id, waiter)
    return id
  }

  _settle (id, err) {
    const waiter = this._pending.get(id)
    if (waiter === undefined) return
    this._pending.delete(id)
    waiter.settle(err)
  }

  /** Hands one message to the core; `waiter` hears its outcome. Messages are collected and
   * passed to the native side once per microtask (one call, one wake-up of the pump, for a
   * whole loop of sends); see Channel.flush. */
  _submit (message, outputName, waiter) {
    if (this._closing) return failSoon(waiter, closedError())
    if (message === undefined || message === null || typeof message !== 'object') {
      return failSoon(waiter, argumentError('message must be a Message'))
    }
    const channel = this._channel
    const id = this._nextId = (this._nextId + 1) >>> 0
    this._pending.set(id, waiter)
    channel.inflight++
    const out = channel.outbox
    out.push(id, bodyOf(message.data), 0)
    const maskAt = out.length - 1
    let mask = 0
    let v = propertiesOf(message)
    if (v !== undefined) { mask |= 1; out.push(v) }
    if ((v = text(message.messageId)) !== undefined) { mask |= 2; out.push(v) }
    if ((v = text(message.correlationId)) !== undefined) { mask |= 4; out.push(v) }
    if ((v = text(message.userId)) !== undefined) { mask |= 8; out.push(v) }
    if ((v = text(message.to)) !== undefined) { mask |= 16; out.push(v) }
    if ((v = text(message.contentType)) !== undefined) { mask |= 32; out.push(v) }
    if ((v = text(message.contentEncoding)) !== undefined) { mask |= 64; out.push(v) }
    if ((v = outputName !== undefined ? outputName : text(message.outputName)) !== undefined) { mask |= 128; out.push(v) }
    v = message.expiryTimeUtc
    if ((v = v instanceof Date ? v.toISOString() : text(v)) !== undefined) { mask |= 256; out.push(v) }
    if ((v = text(message.interfaceId)) !== undefined) { mask |= 512; out.push(v) }
    if ((v = text(message.componentName)) !== undefined) { mask |= 1024; out.push(v) }
    out[maskAt] = mask
    channel.outboxIds.push(id)
    if (!channel.flushQueued) {
      channel.flushQueued = true
      queueMicrotask(channel.flushNow)
    }
    if (!channel.alive) channel.keepAlive()
  }

  /** Connects. Calls back (or resolves) with results.Connected once connected. */
  open (openCallback) {
    return withWaiter(openCallback, Connected, (waiter) => {
      if (this._closing) return failSoon(waiter, closedError())
      this._channel.operation('open', waiter)
    })
  }

  /** Sends one message; calls back (or resolves) with results.MessageEnqueued when the broker
   * acknowledged it (PUBACK). A security message that breaks the schema fails with
   * code SCHEMA_VALIDATION and is not sent. */
  sendEvent (message, sendEventCallback) {
    if (sendEventCallback !== undefined && sendEventCallback !== null) {
      if (typeof sendEventCallback !== 'function') throw argumentError('the callback must be a function')
      this._submit(message, undefined, new CallbackWaiter(sendEventCallback, MessageEnqueued))
      return undefined
    }
    return new Promise((resolve, reject) => this._submit(message, undefined, new PromiseWaiter(resolve, reject, MessageEnqueued)))
  }

  /** Sends every message (pipelined); done when all are acknowledged. If any fails, the error
   * is the first failure (in message order), with `.index` and `.errors` (one per message). */
  sendEventBatch (messages, sendEventBatchCallback) {
    return this._sendBatch(messages, undefined, sendEventBatchCallback)
  }

  _sendBatch (messages, outputName, callback) {
    return withWaiter(callback, MessageEnqueued, (waiter) => {
      if (!Array.isArray(messages)) return failSoon(waiter, argumentError('messages must be an array of Message'))
      if (messages.length === 0) return failSoon(waiter, null)
      const batch = new Batch(messages.length, waiter)
      for (let i = 0; i < messages.length; i++) this._submit(messages[i], outputName, new BatchMember(batch, i))
    })
  }

  /** Closes the client for good, after the messages already sent are acknowledged (or time out).
   * Later operations fail with code CLOSED. Calls back (or resolves) with results.Disconnected. */
  close (closeCallback) {
    return withWaiter(closeCallback, Disconnected, (waiter) => {
      if (this._closing) {
        // Already closing or closed: hear about the same close.
        if (this._closed) return failSoon(waiter, null)
        this._closeWaiters.push(waiter)
        return
      }
      this._closing = true
      this._closeWaiters = [waiter]
      const channel = this._channel
      channel.closing = true
      channel.operation('close', {
        settle: (err) => {
          channel.closed = true
          this._closed = true
          for (const w of this._closeWaiters) w.settle(err)
          this._closeWaiters = []
        }
      })
    })
  }

  /** Sets client options: { ca, port, keepalive (or keepAlive), validation, ... } (see the
   * README). Takes effect at once: an open connection is replaced by one with the new options. */
  setOptions (options, done) {
    return withWaiter(done, undefined, (waiter) => {
      if (this._closing) return failSoon(waiter, closedError())
      let merged, channel
      try {
        merged = mergeOptions(this._options, normalizeOptions(options))
        channel = new Channel(this, merged)
      } catch (e) {
        return failSoon(waiter, e)
      }
      const old = this._channel
      const wasActive = old.native.isActive()
      this._options = merged
      this._channel = channel
      if (old.inflight === 0 && !wasActive) {
        old.released = true
        LIVE.delete(old)
        old.native.release()
      } else {
        old.retire()
      }
      if (wasActive) channel.operation('open', { settle: () => {} })
      failSoon(waiter, null)
    })
  }
}

/** A device client (azure-iot-device's Client). */
class Client extends InternalClient {
  /** A client for the device in `connStr` (HostName=...;DeviceId=...;SharedAccessKey=...).
   * Throws (code INVALID_CONNECTION_STRING) when the connection string is malformed or names a
   * module. */
  static fromConnectionString (connStr, transportCtor) {
    checkTransport(transportCtor)
    return new this(connStr, IDENTITY_DEVICE)
  }
}

/** A module client (azure-iot-device's ModuleClient). */
class ModuleClient extends InternalClient {
  /** A client for the module in `connStr` (...;DeviceId=...;ModuleId=...;...). Throws (code
   * INVALID_CONNECTION_STRING) when the connection string is malformed or has no ModuleId. */
  static fromConnectionString (connStr, transportCtor) {
    checkTransport(transportCtor)
    return new this(connStr, IDENTITY_MODULE)
  }

  /** Sends `message` to the module output `outputName` ($.on). */
  sendOutputEvent (outputName, message, callback) {
    if (typeof outputName !== 'string' || outputName.length === 0) throw argumentError('outputName must be a non-empty string')
    if (callback !== undefined && callback !== null) {
      if (typeof callback !== 'function') throw argumentError('the callback must be a function')
      this._submit(message, outputName, new CallbackWaiter(callback, MessageEnqueued))
      return undefined
    }
    return new Promise((resolve, reject) => this._submit(message, outputName, new PromiseWaiter(resolve, reject, MessageEnqueued)))
  }

  /** Sends every message to the module output `outputName`. */
  sendOutputEventBatch (outputName, messages, callback) {
    if (typeof outputName !== 'string' || outputName.length === 0) throw argumentError('outputName must be a non-empty string')
    return this._sendBatch(messages, outputName, callback)
  }
}

// ---------------------------------------------------------------------------------------------
// Schema validation and typed builders.

/** JSON.stringify, with what it throws on hostile input (a value nested too deeply for the
 * stack: RangeError; one that contains itself: TypeError) as an INVALID_ARGUMENT error. */
function toJson (value, what) {
  try {
    return JSON.stringify(value)
  } catch (e) {
    throw argumentError(`${what} cannot be written as JSON (${e instanceof RangeError ? 'nested too deeply' : e.message})`)
  }
}

function bodyForValidation (data) {
  if (typeof data === 'string' || data instanceof Uint8Array) return data
  if (data instanceof ArrayBuffer) return Buffer.from(data)
  if (data !== null && typeof data === 'object') return toJson(data, 'data')
  return data // the core names `data` in its error
}

/** Every way `data` (JSON text, a Buffer, or a parsed object) breaks the security-message
 * schema; [] means valid. Each violation: { pointer, rule, message, position? }. */
function validate (data) {
  return native.validate(bodyForValidation(data))
}

/** Whether `data` is a valid security message. */
function isValid (data) {
  return native.isValid(bodyForValidation(data))
}

const EVENT_KINDS = native.eventKinds()

/** The 14 event kinds, e.g. EventKind.ProcessCreate === 'ProcessCreate'. */
const EventKind = Object.freeze(Object.fromEntries(EVENT_KINDS.map(([name]) => [name, name])))

/** Category ('Periodic' | 'Triggered') and event type of each kind, as the schema fixes them. */
const EventKindInfo = Object.freeze(Object.fromEntries(EVENT_KINDS.map(([name, category, eventType]) => [name, Object.freeze({ category, eventType })])))

/** One event of a security message: a kind and its records (payload items, schema field names). */
class Event {
  constructor (kind, records) {
    if (!Object.prototype.hasOwnProperty.call(EventKind, kind)) {
      throw argumentError(`\`${kind}\` is not an event kind; expected one of ${Object.keys(EventKind).join(', ')}`)
    }
    if (records !== undefined && !Array.isArray(records)) throw argumentError('records must be an array')
    this.kind = kind
    this.records = records ? records.slice() : []
    /** Event Id (a GUID); generated when not set. */
    this.id = undefined
    /** TimestampLocal; the current local time when not set. */
    this.timestampLocal = undefined
    /** TimestampUTC; the current UTC time when not set. */
    this.timestampUtc = undefined
  }

  /** Adds records. */
  addRecord (...records) {
    for (const r of records) this.records.push(r)
    return this
  }

  setId (id) {
    this.id = id
    return this
  }

  setTimestampLocal (timestamp) {
    this.timestampLocal = timestamp
    return this
  }

  setTimestampUtc (timestamp) {
    this.timestampUtc = timestamp
    return this
  }

  toJSON () {
    return { kind: this.kind, id: this.id, timestampLocal: this.timestampLocal, timestampUtc: this.timestampUtc, records: this.records }
  }
}

/** `ProcessCreate` → `processCreate`, `OSBaseline` → `osBaseline`. */
function factoryName (kind) {
  return kind.replace(/^[A-Z]+(?=[A-Z][a-z])|^[A-Z]/, (s) => s.toLowerCase())
}
for (const kind of Object.keys(EventKind)) {
  Object.defineProperty(Event, factoryName(kind), {
    value: function (...records) { return new Event(kind, records) },
    writable: true,
    configurable: true
  })
}

/** A security message body: agent identity plus events. build() returns schema-valid JSON. */
class SecurityMessage {
  constructor (agentId, agentVersion) {
    if (typeof agentId !== 'string') throw argumentError('agentId must be a string (a GUID)')
    if (typeof agentVersion !== 'string') throw argumentError('agentVersion must be a string')
    this.agentId = agentId
    this.agentVersion = agentVersion
    this.events = []
  }

  addEvent (...events) {
    for (const e of events) {
      if (!(e instanceof Event)) throw argumentError('addEvent takes Event objects (e.g. Event.processCreate({...}))')
      this.events.push(e)
    }
    return this
  }

  _build () {
    return native.buildSecurityMessage(this.agentId, this.agentVersion, toJson(this.events, 'the events'))
  }

  /** The body as compact JSON text; throws (code SCHEMA_VALIDATION, with .violations) when it
   * would break the schema. Missing event ids and timestamps are filled in. */
  build () {
    return this._build().body
  }

  /** A Message ready to send: the validated body, flagged as a security message, with content
   * type application/json and content encoding utf-8. */
  buildMessage () {
    const built = this._build()
    const message = new Message(built.body)
    message.contentType = built.contentType
    message.contentEncoding = built.contentEncoding
    message.interfaceId = built.interfaceId
    return message
  }
}

module.exports = {
  InternalClient,
  Client,
  ModuleClient,
  Message,
  Properties,
  Mqtt,
  results,
  ErrorCode,
  ErrorCodeNumber,
  SECURITY_INTERFACE_ID,
  validate,
  isValid,
  Event,
  EventKind,
  EventKindInfo,
  SecurityMessage,
  version: native.version(),
  userAgent: native.userAgent(`node ${process.versions.node}`)
}
