// Type definitions for iotsec (Node.js). Written by hand and checked: `tsc --strict` compiles
// examples/full-api.ts against them, and __test__/types.test.js compares them with the
// runtime exports and with the published schema files.

/// <reference types="node" />

import { EventEmitter } from 'events'

// ---------------------------------------------------------------------------------------------
// Errors

/** The stable error codes (the Rust core's ErrorKind names, the same in every iotsec language). */
export type ErrorCodeName =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONNECTION_STRING'
  | 'INVALID_CREDENTIAL'
  | 'SCHEMA_VALIDATION'
  | 'MESSAGE_TOO_LARGE'
  | 'CONNECTION_FAILED'
  | 'TLS'
  | 'CREDENTIAL_REFUSED'
  | 'CONNECTION_LOST'
  | 'TIMEOUT'
  | 'CLOSED'
  | 'QUEUE_FULL'
  | 'IO'
  | 'INTERNAL'

/** `ErrorCode.SCHEMA_VALIDATION === 'SCHEMA_VALIDATION'`, ... */
export declare const ErrorCode: { readonly [K in ErrorCodeName]: K }

/** The stable numeric value of each code (1 = INVALID_ARGUMENT ... 14 = INTERNAL). */
export declare const ErrorCodeNumber: { readonly [K in ErrorCodeName]: number }

/** Where in the raw bytes a body stops being UTF-8 or JSON. */
export interface TextPosition {
  /** Byte offset from the start of the body (0-based). */
  offset: number
  /** Line (1-based). */
  line: number
  /** Column (1-based, in bytes). */
  column: number
}

/** One way a body breaks the security-message schema. */
export interface Violation {
  /** JSON pointer of the value at fault, e.g. `/Events/0/Payload/0/UserId`; `''` is the whole body. */
  pointer: string
  /** The rule that failed: `required`, `type`, `format`, `enum`, `pattern`, `additionalProperties`,
   * `oneOf`, ..., or `utf8` / `json` when the bytes cannot be read. */
  rule: string
  /** A readable explanation. */
  message: string
  /** For `utf8` and `json` violations: where reading stopped. */
  position?: TextPosition
}

/** Every error iotsec reports (thrown, passed to a callback, or rejecting a Promise). */
export interface IotSecError extends Error {
  /** The stable code. */
  code: ErrorCodeName
  /** For SCHEMA_VALIDATION: every violation. */
  violations?: Violation[]
  /** For CREDENTIAL_REFUSED: the MQTT CONNACK return code. */
  connackCode?: number
  /** For a failed sendEventBatch: the index of the first message that failed. */
  index?: number
  /** For a failed sendEventBatch: one entry per message (undefined where it succeeded). */
  errors?: Array<IotSecError | undefined>
}

// ---------------------------------------------------------------------------------------------
// Results, as azure-iot-common names them.

export declare namespace results {
  /** open() succeeded. */
  class Connected {
    constructor(transportObj?: unknown)
    transportObj?: unknown
  }
  /** close() finished, or the connection was lost (the `disconnect` event). */
  class Disconnected {
    constructor(error?: IotSecError, reason?: string, statusReason?: ConnectionChangeReason)
    /** The error that ended the connection, for the `disconnect` event. */
    transportObj?: IotSecError
    reason?: string
    /** iotsec: why the connection was lost, as the SDKs' status callbacks name it (`disconnect` event). */
    statusReason?: ConnectionChangeReason
  }
  /** The broker acknowledged the message (PUBACK). */
  class MessageEnqueued {
    constructor(transportObj?: unknown)
    transportObj?: unknown
  }
}

/** A Node-style callback. */
export type Callback<T> = (err?: IotSecError | null, result?: T) => void

// ---------------------------------------------------------------------------------------------
// Messages

/** Custom (application) properties of a message, in insertion order. */
export declare class Properties {
  propertyList: Array<{ key: string; value: string }>
  /** Adds a property. Always returns true. */
  add(itemKey: string, itemValue: string): boolean
  getItem(index: number): { key: string; value: string }
  getValue(key: string): string | undefined
  count(): number
}

export declare namespace Message {
  type BufferConvertible = Buffer | Uint8Array | string | number[] | ArrayBuffer
}

/** A device-to-cloud message; setAsSecurityMessage() makes it a security message. */
export declare class Message {
  constructor(data: Message.BufferConvertible)
  data: Message.BufferConvertible
  properties: Properties
  /** `$.mid` */
  messageId?: string
  /** `$.to` */
  to?: string
  /** `$.exp`: a Date (sent as ISO 8601) or the ISO 8601 text. */
  expiryTimeUtc?: Date | string
  /** Not sent (cloud-to-device only); kept for azure-iot-device compatibility. */
  lockToken?: string
  /** `$.cid` */
  correlationId?: string
  /** `$.uid` */
  userId?: string
  /** Not sent (cloud-to-device only); kept for azure-iot-device compatibility. */
  ack?: string
  /** `$.ct`, e.g. 'application/json'. */
  contentType?: string
  /** `$.ce`, e.g. 'utf-8'. */
  contentEncoding?: string
  /** `$.ifid`; set by setAsSecurityMessage(). */
  interfaceId?: string
  /** iotsec: `$.on`, the output a module message is routed to. */
  outputName?: string
  /** iotsec: `$.sub`, the IoT Plug and Play component. */
  componentName?: string
  getData(): Message.BufferConvertible
  getBytes(): Buffer
  /** Marks this message as a security message (`$.ifid = urn:azureiot:Security:SecurityAgent:1`);
   * nothing else changes. Its body is then validated against the schema before it is sent. */
  setAsSecurityMessage(): void
  /** iotsec: whether setAsSecurityMessage() was called. */
  isSecurityMessage(): boolean
  static isBufferConvertible(obj: unknown): boolean
}

/** The interface id of a security message: 'urn:azureiot:Security:SecurityAgent:1'. */
export declare const SECURITY_INTERFACE_ID: string

// ---------------------------------------------------------------------------------------------
// Clients

/** The MQTT transport (TLS; port 8883 unless options.port or IOTSEC_MQTT_PORT say otherwise).
 * Pass the class itself to fromConnectionString. */
export declare class Mqtt {
  static readonly iotsecTransport: 'mqtt'
}

/** Something fromConnectionString accepts as the transport: iotsec's Mqtt. */
export type TransportCtor = typeof Mqtt

/** Client options (setOptions). Every one is optional. */
export interface ClientOptions {
  /** PEM text (or Buffer) of the CA certificate(s) to trust instead of the system roots
   * (falls back to the file IOTSEC_CA_FILE names). */
  ca?: string | Buffer
  /** iotsec: a PEM file of CA certificate(s) to trust. */
  caFile?: string
  /** iotsec: the MQTT port (default: IOTSEC_MQTT_PORT, else 8883). */
  port?: number
  /** MQTT keep-alive in seconds (default 60; IoT Hub allows at most 1,767). */
  keepalive?: number
  /** iotsec: the same as keepalive. */
  keepAlive?: number
  /** iotsec: schema validation of security messages before sending: 'strict' (default: refuse
   * with SCHEMA_VALIDATION), 'warn' (send and log), 'off'. */
  validation?: 'strict' | 'warn' | 'off'
  /** iotsec: PUBLISH packets in flight awaiting PUBACK (default 100). */
  maxInFlight?: number
  /** iotsec: messages accepted and not yet acknowledged (default 10,000). */
  queueCapacity?: number
  /** iotsec: when that queue is full, 'block' (default: the send waits for room, without
   * blocking the event loop) or 'failFast' (the send fails with QUEUE_FULL). */
  queuePolicy?: 'block' | 'failFast'
  /** iotsec: how long a send waits for its PUBACK, in milliseconds (default 60,000). */
  sendTimeout?: number
  /** iotsec: how long connecting may take, in milliseconds (default 30,000). */
  connectTimeout?: number
  /** iotsec: lifetime of each SAS token in seconds (default 3,600); renewed before expiry. */
  tokenLifetime?: number
  /** As in azure-iot-device: tokenValidTimeInSeconds sets tokenLifetime. */
  tokenRenewal?: { tokenValidTimeInSeconds: number; tokenRenewalMarginInSeconds?: number }
  /** iotsec: client certificate file (PEM) for `x509=true` connection strings. */
  certFile?: string
  /** iotsec: client key file (PEM) for `x509=true` connection strings. */
  keyFile?: string
  /** iotsec: a file (created when missing) keeping every accepted message until the broker
   * acknowledges it, so messages survive a crash and are re-sent by the next client that opens
   * the same file. Default: memory only. */
  durableQueue?: string
  /** iotsec: milliseconds before the first reconnect attempt after a lost connection
   * (default 1,000); the delay doubles up to reconnectMax. */
  reconnectInitial?: number
  /** iotsec: the largest reconnect delay in milliseconds (default 30,000). */
  reconnectMax?: number
  /** iotsec: fraction (0 to 1) by which each reconnect delay is moved at random (default 0.1). */
  reconnectJitter?: number
  /** iotsec: 'never' (default, as azure-iot-device) or 'whenUnset': a message sent without a
   * messageId gets a new UUID as its id, so duplicates of at-least-once delivery can be
   * dropped by id. */
  messageIds?: 'never' | 'whenUnset' | 'when_unset'
  /** Accepted and ignored (azure-iot-device options that do not apply). */
  productInfo?: string
  modelId?: string
}

/** Why a connection changed, as the official SDKs' status callbacks name it. */
export type ConnectionChangeReason =
  | 'CONNECTION_OK'
  | 'EXPIRED_SAS_TOKEN'
  | 'BAD_CREDENTIAL'
  | 'NO_NETWORK'
  | 'COMMUNICATION_ERROR'
  | 'CLIENT_CLOSE'

/** The argument of the `reconnecting` event. */
export interface Reconnecting {
  /** 1, 2, ... for each attempt after a lost connection; 0 for a planned reconnect (token renewal). */
  attempt: number
  /** `EXPIRED_SAS_TOKEN` for a token renewal, else why the connection was lost (`NO_NETWORK`, ...). */
  reason: ConnectionChangeReason
  /** What ended the previous connection (or made the last attempt fail). */
  error: IotSecError
}

/** What device and module clients share. Events: 'connect' (each time a connection is up),
 * 'disconnect' (the connection was lost; iotsec keeps reconnecting), 'reconnecting' (iotsec:
 * each reconnect attempt, with its number and reason), 'error' (a reconnect attempt failed;
 * only emitted while there is a listener). */
export declare class InternalClient extends EventEmitter {
  protected constructor(connectionString: string, identityKind: number)
  /** The device id this client sends as. */
  readonly deviceId: string
  /** The module id, or null for a device client. */
  readonly moduleId: string | null

  /** Connects (TLS, MQTT CONNECT, CONNACK). */
  open(openCallback: Callback<results.Connected>): void
  open(): Promise<results.Connected>

  /** Sends one message; done when the broker acknowledged it (PUBACK). A security message
   * whose body breaks the schema fails with SCHEMA_VALIDATION and is not sent. Connects first
   * if needed. */
  sendEvent(message: Message, sendEventCallback: Callback<results.MessageEnqueued>): void
  sendEvent(message: Message): Promise<results.MessageEnqueued>

  /** Sends all messages pipelined; done when all are acknowledged. On failure, the error is the
   * first one in message order, with `index` and `errors`. */
  sendEventBatch(messages: Message[], sendEventBatchCallback: Callback<results.MessageEnqueued>): void
  sendEventBatch(messages: Message[]): Promise<results.MessageEnqueued>

  /** Closes for good, after outstanding messages are acknowledged (or time out). Later
   * operations fail with CLOSED. */
  close(closeCallback: Callback<results.Disconnected>): void
  close(): Promise<results.Disconnected>

  /** Sets options; an open connection is replaced by one that uses them. */
  setOptions(options: ClientOptions, done: Callback<undefined>): void
  setOptions(options: ClientOptions): Promise<undefined>

  on(event: 'connect', listener: () => void): this
  on(event: 'disconnect', listener: (result: results.Disconnected) => void): this
  on(event: 'reconnecting', listener: (info: Reconnecting) => void): this
  on(event: 'error', listener: (err: IotSecError) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'connect', listener: () => void): this
  once(event: 'disconnect', listener: (result: results.Disconnected) => void): this
  once(event: 'reconnecting', listener: (info: Reconnecting) => void): this
  once(event: 'error', listener: (err: IotSecError) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}

/** A device client (azure-iot-device's Client). */
export declare class Client extends InternalClient {
  /** A client for the device in `connStr` (`HostName=...;DeviceId=...;SharedAccessKey=...`).
   * Throws INVALID_CONNECTION_STRING for a malformed string or one with a ModuleId. */
  static fromConnectionString(connStr: string, transportCtor: TransportCtor): Client
}

/** A module client (azure-iot-device's ModuleClient). */
export declare class ModuleClient extends InternalClient {
  /** A client for the module in `connStr` (`...;DeviceId=...;ModuleId=...;...`). Throws
   * INVALID_CONNECTION_STRING for a malformed string or one without a ModuleId. */
  static fromConnectionString(connStr: string, transportCtor: TransportCtor): ModuleClient
  /** Sends `message` to the module output `outputName` (`$.on`). */
  sendOutputEvent(outputName: string, message: Message, callback: Callback<results.MessageEnqueued>): void
  sendOutputEvent(outputName: string, message: Message): Promise<results.MessageEnqueued>
  sendOutputEventBatch(outputName: string, messages: Message[], callback: Callback<results.MessageEnqueued>): void
  sendOutputEventBatch(outputName: string, messages: Message[]): Promise<results.MessageEnqueued>
}

// ---------------------------------------------------------------------------------------------
// Schema validation

/** Every way `data` breaks the security-message schema; `[]` means valid. `data` is JSON text,
 * its bytes, or an already parsed object. */
export declare function validate(data: string | Uint8Array | ArrayBuffer | object): Violation[]

/** Whether `data` is a valid security message. */
export declare function isValid(data: string | Uint8Array | ArrayBuffer | object): boolean

// ---------------------------------------------------------------------------------------------
// Typed builders

/** The 14 event kinds of schema v1.0. */
export type EventKindName =
  | 'ProcessCreate'
  | 'ProcessTerminate'
  | 'ConnectionCreate'
  | 'Login'
  | 'ListeningPorts'
  | 'FirewallConfiguration'
  | 'LocalUsers'
  | 'ConnectedHardware'
  | 'OSBaseline'
  | 'SystemInformation'
  | 'Diagnostic'
  | 'ConfigurationError'
  | 'DroppedEventsStatistics'
  | 'MessageStatistics'

export declare const EventKind: { readonly [K in EventKindName]: K }

/** What the schema fixes for each kind. */
export declare const EventKindInfo: {
  readonly [K in EventKindName]: { readonly category: 'Periodic' | 'Triggered'; readonly eventType: 'Security' | 'Diagnostic' | 'Operational' }
}

/** Free-form string pairs every record may carry. */
export type ExtraDetails = Record<string, string>

/** Records (payload items) use the schema's field names. */
export interface ProcessCreateRecord {
  Executable: string
  ProcessId: number
  ParentProcessId: number
  UserId: string
  UserName?: string
  CommandLine: string
  ExtraDetails?: ExtraDetails
}

export interface ProcessTerminateRecord {
  Executable: string
  ProcessId: number
  ExitStatus: number
  ExtraDetails?: ExtraDetails
}

export interface ConnectionCreateRecord {
  RemoteAddress: string
  RemotePort: string
  LocalAddress?: string
  LocalPort?: string
  Direction: 'In' | 'Out'
  Protocol: string
  ProcessId: number
  UserId?: string
  Executable: string
  CommandLine?: string
  ExtraDetails?: ExtraDetails
}

/** The schema also requires UserId or UserName (or both). */
export interface LoginRecord {
  ProcessId: number
  UserId?: string
  UserName?: string
  Operation: string
  Executable: string
  RemoteAddress?: string
  RemotePort?: string
  LocalPort?: string
  Result: 'Fail' | 'Success'
  ExtraDetails?: ExtraDetails
}

export interface ListeningPortsRecord {
  RemoteAddress?: string
  RemotePort?: string
  LocalAddress?: string
  LocalPort: string
  Protocol: string
  ExtraDetails?: ExtraDetails
}

export interface FirewallConfigurationRecord {
  Priority?: number
  Direction?: 'In' | 'Out'
  ChainName?: string
  Application?: string
  Enabled: boolean
  Action: 'Allow' | 'Deny' | 'Other'
  SourceAddress?: string
  SourcePort?: string
  DestinationAddress?: string
  DestinationPort?: string
  Protocol?: string
  ExtraDetails?: ExtraDetails
}

export interface LocalUsersRecord {
  GroupIds: string
  GroupNames: string
  UserId: string
  UserName: string
  ExtraDetails?: ExtraDetails
}

export interface ConnectedHardwareRecord {
  HardwareCategory: string
  HardwareSubCategory: string
  HardwareName: string
  ExtraDetails?: ExtraDetails
}

export interface OSBaselineRecord {
  Description: string
  CceId: string
  Result: 'Pass' | 'Fail' | 'Err'
  Error: string
  Severity: 'Critical' | 'Important' | 'Warning' | 'Informational'
  ExtraDetails?: ExtraDetails
}

export interface SystemInformationRecord {
  OSName?: string
  OSVersion?: string
  OSVendor?: string
  OsArchitecture?: string
  HostName?: string
  BIOSVersion?: string
  BootDevice?: string
  TotalPhysicalMemoryInKB?: number
  FreePhysicalMemoryInKB?: number
  TotalVirtualMemoryInKB?: number
  FreeVirtualMemoryInKB?: number
  ExtraDetails?: ExtraDetails
}

export interface DiagnosticRecord {
  CorrelationId?: string
  Severity: 'Fatal' | 'Error' | 'Warning' | 'Information' | 'Debug'
  Message: string
  ProcessId: number
  ThreadId: number
  ExtraDetails?: ExtraDetails
}

export interface ConfigurationErrorRecord {
  ConfigurationName: string
  ErrorType: 'TypeMismatch' | 'NotOptimal' | 'Conflict'
  UsedConfiguration: string
  Message: string
  ExtraDetails?: ExtraDetails
}

export interface DroppedEventsStatisticsRecord {
  Queue: 'High' | 'Low'
  CollectedEvents: number
  DroppedEvents: number
  ExtraDetails?: ExtraDetails
}

export interface MessageStatisticsRecord {
  MessagesSent: number
  MessagesUnder4KB: number
  TotalFailed: number
  ExtraDetails?: ExtraDetails
}

/** The record type of each kind. */
export interface EventRecords {
  ProcessCreate: ProcessCreateRecord
  ProcessTerminate: ProcessTerminateRecord
  ConnectionCreate: ConnectionCreateRecord
  Login: LoginRecord
  ListeningPorts: ListeningPortsRecord
  FirewallConfiguration: FirewallConfigurationRecord
  LocalUsers: LocalUsersRecord
  ConnectedHardware: ConnectedHardwareRecord
  OSBaseline: OSBaselineRecord
  SystemInformation: SystemInformationRecord
  Diagnostic: DiagnosticRecord
  ConfigurationError: ConfigurationErrorRecord
  DroppedEventsStatistics: DroppedEventsStatisticsRecord
  MessageStatistics: MessageStatisticsRecord
}

/** One event: a kind and its records. Name, Category, EventType, PayloadSchemaVersion and
 * IsEmpty are derived from the kind and records; a missing Id or timestamp is filled in when
 * the message is built. */
export declare class Event<K extends EventKindName = EventKindName> {
  constructor(kind: K, records?: Array<EventRecords[K]>)
  readonly kind: K
  records: Array<EventRecords[K]>
  /** Event Id (a 36-character GUID); generated when not set. */
  id?: string
  /** TimestampLocal (RFC 3339 with offset); the current local time when not set. */
  timestampLocal?: string
  /** TimestampUTC; the current UTC time when not set. */
  timestampUtc?: string
  addRecord(...records: Array<EventRecords[K]>): this
  setId(id: string): this
  setTimestampLocal(timestamp: string): this
  setTimestampUtc(timestamp: string): this
  toJSON(): { kind: K; id?: string; timestampLocal?: string; timestampUtc?: string; records: Array<EventRecords[K]> }

  static processCreate(...records: ProcessCreateRecord[]): Event<'ProcessCreate'>
  static processTerminate(...records: ProcessTerminateRecord[]): Event<'ProcessTerminate'>
  static connectionCreate(...records: ConnectionCreateRecord[]): Event<'ConnectionCreate'>
  static login(...records: LoginRecord[]): Event<'Login'>
  static listeningPorts(...records: ListeningPortsRecord[]): Event<'ListeningPorts'>
  static firewallConfiguration(...records: FirewallConfigurationRecord[]): Event<'FirewallConfiguration'>
  static localUsers(...records: LocalUsersRecord[]): Event<'LocalUsers'>
  static connectedHardware(...records: ConnectedHardwareRecord[]): Event<'ConnectedHardware'>
  static osBaseline(...records: OSBaselineRecord[]): Event<'OSBaseline'>
  static systemInformation(...records: SystemInformationRecord[]): Event<'SystemInformation'>
  static diagnostic(...records: DiagnosticRecord[]): Event<'Diagnostic'>
  static configurationError(...records: ConfigurationErrorRecord[]): Event<'ConfigurationError'>
  static droppedEventsStatistics(...records: DroppedEventsStatisticsRecord[]): Event<'DroppedEventsStatistics'>
  static messageStatistics(...records: MessageStatisticsRecord[]): Event<'MessageStatistics'>
}

/** A security message body under construction. */
export declare class SecurityMessage {
  /** `agentId`: a GUID identifying the agent; `agentVersion`: free text, e.g. '1.0.0'. */
  constructor(agentId: string, agentVersion: string)
  agentId: string
  agentVersion: string
  events: Event[]
  addEvent(...events: Event[]): this
  /** The body as compact JSON; throws SCHEMA_VALIDATION (with `violations`) when it would break
   * the schema. */
  build(): string
  /** A Message with that body, flagged as a security message, content type application/json,
   * content encoding utf-8. */
  buildMessage(): Message
}

// ---------------------------------------------------------------------------------------------

/** The package version. */
export declare const version: string
/** The user agent iotsec presents to IoT Hub, e.g. 'iotsec/0.1.0 (node 20.20.2; linux; x86_64)'. */
export declare const userAgent: string
