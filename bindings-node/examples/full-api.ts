// Every public name of iotsec, used the way an application would. It is type-checked with
// `tsc --strict --noEmit -p examples/tsconfig.json` (the test suite does this) and can run:
//   IOTSEC_CONNECTION_STRING='HostName=...;DeviceId=...;SharedAccessKey=...' node examples/full-api.js
// (after `tsc -p examples/tsconfig.json --noEmit false --outDir examples`).

import * as fs from 'fs'
import {
  Client,
  ClientOptions,
  ConnectionChangeReason,
  Reconnecting,
  ErrorCode,
  ErrorCodeName,
  ErrorCodeNumber,
  Event,
  EventKind,
  EventKindInfo,
  EventKindName,
  InternalClient,
  IotSecError,
  isValid,
  Message,
  ModuleClient,
  Mqtt,
  Properties,
  results,
  SECURITY_INTERFACE_ID,
  SecurityMessage,
  userAgent,
  validate,
  version,
  Violation
} from 'iotsec'
import { Mqtt as MqttFromSubpath } from 'iotsec/mqtt'

function describe (err: IotSecError): string {
  const code: ErrorCodeName = err.code
  const where = (err.violations ?? []).map((v: Violation) => `${v.pointer} (${v.rule}): ${v.message}${v.position ? ` at line ${v.position.line}` : ''}`)
  const refused = err.connackCode !== undefined ? ` CONNACK ${err.connackCode}` : ''
  return `${code} (${ErrorCodeNumber[code]}): ${err.message}${refused}${where.length ? `\n  ${where.join('\n  ')}` : ''}`
}

function buildBody (): string {
  const process = Event.processCreate({
    Executable: '/usr/bin/myApp',
    ProcessId: 11750,
    ParentProcessId: 1593,
    UserId: '1000',
    UserName: 'aUser',
    CommandLine: 'myApp -a -b',
    ExtraDetails: { site: 'plant 7' }
  })
    .setId('e89dc5f5-feac-4c3e-87e2-93c16f010c25')
    .setTimestampLocal('2019-01-27 15:48:52+02:00')
    .setTimestampUtc('2019-01-27T13:48:52Z')
  const ports: Event<'ListeningPorts'> = new Event(EventKind.ListeningPorts, [{ LocalPort: '22', Protocol: 'TCP' }])
  ports.addRecord({ LocalPort: '443', Protocol: 'TCP', LocalAddress: '0.0.0.0' })
  const kinds: EventKindName[] = Object.keys(EventKind) as EventKindName[]
  const periodic = kinds.filter((k) => EventKindInfo[k].category === 'Periodic')
  const body = new SecurityMessage('e89dc5f5-feac-4c3e-87e2-93c16f010c25', '1.0.0')
    .addEvent(process, ports)
    .addEvent(
      Event.login({ ProcessId: 1, UserName: 'root', Operation: 'PAM:authentication', Executable: '/usr/sbin/sshd', Result: 'Fail' }),
      Event.connectionCreate({ RemoteAddress: '10.0.0.1', RemotePort: '443', Direction: 'Out', Protocol: 'TCP', ProcessId: 2, Executable: '/usr/bin/curl' }),
      Event.processTerminate({ Executable: '/usr/bin/myApp', ProcessId: 11750, ExitStatus: 0 }),
      Event.firewallConfiguration({ Enabled: true, Action: 'Allow', Direction: 'In', Priority: 1 }),
      Event.localUsers({ GroupIds: '0', GroupNames: 'root', UserId: '0', UserName: 'root' }),
      Event.connectedHardware({ HardwareCategory: 'USB', HardwareSubCategory: 'Keyboard', HardwareName: 'kbd' }),
      Event.osBaseline({ Description: 'ssh root login', CceId: 'CCE-1', Result: 'Pass', Error: '', Severity: 'Informational' }),
      Event.systemInformation({ OSName: 'Linux', TotalPhysicalMemoryInKB: 1024 }),
      Event.diagnostic({ Severity: 'Information', Message: 'started', ProcessId: 1, ThreadId: 1 }),
      Event.configurationError({ ConfigurationName: 'x', ErrorType: 'Conflict', UsedConfiguration: 'y', Message: 'z' }),
      Event.droppedEventsStatistics({ Queue: 'High', CollectedEvents: 10, DroppedEvents: 0 }),
      Event.messageStatistics({ MessagesSent: 5, MessagesUnder4KB: 5, TotalFailed: 0 }),
      ...periodic.map((k) => new Event(k))
    )
    .build()
  return body
}

async function main (): Promise<void> {
  console.log(`iotsec ${version} as ${userAgent}; security interface id ${SECURITY_INTERFACE_ID}`)
  const connectionString = process.env.IOTSEC_CONNECTION_STRING ?? ''

  // Validation without a client.
  const body = buildBody()
  const problems: Violation[] = validate(body)
  console.log(`built body valid: ${isValid(body)} (${problems.length} violations)`)
  console.log(validate({ AgentId: 'x' }).map((v) => v.pointer).join(', '))
  try {
    new SecurityMessage('not-a-guid', '1').addEvent(Event.processCreate()).build()
  } catch (e) {
    console.log(describe(e as IotSecError))
  }

  // Messages, as in azure-iot-device.
  const message = new Message(body)
  message.messageId = 'msg-1'
  message.correlationId = 'corr-1'
  message.userId = 'user-1'
  message.contentType = 'application/json'
  message.contentEncoding = 'utf-8'
  message.expiryTimeUtc = new Date(Date.now() + 60_000)
  message.to = '/devices/x/messages/events'
  message.componentName = 'thermostat1'
  message.setAsSecurityMessage()
  const props: Properties = message.properties
  props.add('customProp', 'customValue')
  console.log(props.count(), props.getItem(0).key, props.getValue('customProp'), message.isSecurityMessage(), message.interfaceId, message.getBytes().length, Message.isBufferConvertible(message.getData()))
  const built: Message = new SecurityMessage('e89dc5f5-feac-4c3e-87e2-93c16f010c25', '1.0.0')
    .addEvent(Event.diagnostic({ Severity: 'Debug', Message: 'hello', ProcessId: 1, ThreadId: 2 }))
    .buildMessage()

  if (!connectionString) {
    console.log('set IOTSEC_CONNECTION_STRING to send')
    return
  }

  // A device client: callbacks and Promises, events, options.
  const options: ClientOptions = { keepalive: 120, validation: 'strict', queuePolicy: 'block', sendTimeout: 30_000 }
  if (process.env.IOTSEC_CA_FILE) options.ca = fs.readFileSync(process.env.IOTSEC_CA_FILE, 'utf8')
  if (process.env.IOTSEC_MQTT_PORT) options.port = Number(process.env.IOTSEC_MQTT_PORT)
  const client: Client = Client.fromConnectionString(connectionString, Mqtt)
  const asBase: InternalClient = client
  client.on('connect', () => console.log(`connected as ${asBase.deviceId}`))
  client.on('disconnect', (r: results.Disconnected) => console.log(`connection lost: ${r.transportObj?.message} (${r.statusReason})`))
  client.on('reconnecting', (r: Reconnecting) => {
    const why: ConnectionChangeReason = r.reason
    console.log(`reconnecting, attempt ${r.attempt}: ${why} ${r.error.code}`)
  })
  client.on('error', (err: IotSecError) => console.error(describe(err)))
  await client.setOptions(options)
  const connected: results.Connected = await client.open()
  console.log(connected instanceof results.Connected)
  const enqueued: results.MessageEnqueued = await client.sendEvent(message)
  console.log(enqueued instanceof results.MessageEnqueued)
  await client.sendEventBatch([built, built])
  client.sendEvent(new Message(Buffer.from('{}')), (err, result) => {
    if (err) console.log(describe(err))
    else console.log(result)
  })
  try {
    const bad = new Message('{"AgentId": 1}')
    bad.setAsSecurityMessage()
    await client.sendEvent(bad)
  } catch (e) {
    const err = e as IotSecError
    if (err.code === ErrorCode.SCHEMA_VALIDATION) console.log(describe(err))
  }
  const closed: results.Disconnected = await client.close()
  console.log(closed)
  client.close((err) => console.log('closed twice', err ?? 'fine'))

  // A module client (needs a module's connection string) and the other transport import.
  if (process.env.IOTSEC_MODULE_CONNECTION_STRING) {
    const module = ModuleClient.fromConnectionString(process.env.IOTSEC_MODULE_CONNECTION_STRING, MqttFromSubpath)
    module.setOptions(options, (err) => {
      if (err) return console.error(describe(err))
      module.sendOutputEvent('alerts', built, (err2) => {
        if (err2) console.error(describe(err2))
        module.sendOutputEventBatch('alerts', [built]).then(() => module.close()).catch(console.error)
      })
    })
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
