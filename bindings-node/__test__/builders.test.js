'use strict'
// The typed builders: every event kind builds a schema-valid message; what the schema fixes
// comes from the kind; what is missing is filled in; invalid content fails with violations.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const { Event, EventKind, EventKindInfo, SecurityMessage, validate, SECURITY_INTERFACE_ID } = require('iotsec')

const AGENT = 'e89dc5f5-feac-4c3e-87e2-93c16f010c25'

/** One valid record of each kind (schema field names). */
const SAMPLES = {
  ProcessCreate: { Executable: '/usr/bin/myApp', ProcessId: 11750, ParentProcessId: 1593, UserId: '1000', CommandLine: 'myApp -a -b' },
  ProcessTerminate: { Executable: '/usr/bin/myApp', ProcessId: 11750, ExitStatus: 0 },
  ConnectionCreate: { RemoteAddress: '2001:db8::1', RemotePort: '443', Direction: 'Out', Protocol: 'TCP', ProcessId: 7, Executable: '/usr/bin/curl' },
  Login: { ProcessId: 1, UserName: 'root', Operation: 'PAM:authentication', Executable: '/usr/sbin/sshd', Result: 'Success', RemoteAddress: '10.1.2.3' },
  ListeningPorts: { LocalPort: '22', Protocol: 'TCP', LocalAddress: '0.0.0.0' },
  FirewallConfiguration: { Enabled: true, Action: 'Deny', Direction: 'In', Priority: 3 },
  LocalUsers: { GroupIds: '0;1', GroupNames: 'root;daemon', UserId: '0', UserName: 'root' },
  ConnectedHardware: { HardwareCategory: 'USB', HardwareSubCategory: 'Keyboard', HardwareName: 'kbd' },
  OSBaseline: { Description: 'no root ssh', CceId: 'CCE-1', Result: 'Fail', Error: '', Severity: 'Critical' },
  SystemInformation: { OSName: 'Debian', TotalPhysicalMemoryInKB: 2048, ExtraDetails: { kernel: '6.1' } },
  Diagnostic: { Severity: 'Warning', Message: 'disk almost full', ProcessId: 1, ThreadId: 2 },
  ConfigurationError: { ConfigurationName: 'interval', ErrorType: 'NotOptimal', UsedConfiguration: '60', Message: 'too short' },
  DroppedEventsStatistics: { Queue: 'Low', CollectedEvents: 10, DroppedEvents: 1 },
  MessageStatistics: { MessagesSent: 3, MessagesUnder4KB: 3, TotalFailed: 0 }
}

test('the 14 kinds, with the category and event type the schema fixes', () => {
  assert.deepEqual(Object.keys(EventKind), Object.keys(SAMPLES))
  assert.deepEqual(EventKindInfo.ProcessCreate, { category: 'Triggered', eventType: 'Security' })
  assert.deepEqual(EventKindInfo.ListeningPorts, { category: 'Periodic', eventType: 'Security' })
  assert.deepEqual(EventKindInfo.Diagnostic, { category: 'Triggered', eventType: 'Diagnostic' })
  assert.deepEqual(EventKindInfo.MessageStatistics, { category: 'Periodic', eventType: 'Operational' })
})

test('every kind builds a valid message through its factory, with derived envelope values', () => {
  for (const kind of Object.keys(EventKind)) {
    const factory = kind.replace(/^[A-Z]+(?=[A-Z][a-z])|^[A-Z]/, (s) => s.toLowerCase())
    const event = Event[factory](SAMPLES[kind])
    assert.equal(event.kind, kind)
    const body = new SecurityMessage(AGENT, '1.0.0').addEvent(event).build()
    assert.deepEqual(validate(body), [], kind)
    const parsed = JSON.parse(body)
    assert.equal(parsed.AgentId, AGENT)
    assert.equal(parsed.MessageSchemaVersion, '1.0')
    const e = parsed.Events[0]
    assert.equal(e.Name, kind)
    assert.equal(e.Category, EventKindInfo[kind].category)
    assert.equal(e.EventType, EventKindInfo[kind].eventType)
    assert.equal(e.IsEmpty, false)
    assert.equal(e.PayloadSchemaVersion, '1.0')
    assert.match(e.Id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    assert.match(e.TimestampUTC, /Z$/)
    assert.deepEqual(e.Payload, [SAMPLES[kind]])
  }
})

test('explicit ids and timestamps are kept; periodic kinds may be empty, triggered ones may not', () => {
  const event = new Event('ListeningPorts')
    .setId('11111111-2222-3333-4444-555555555555')
    .setTimestampLocal('2019-01-27 15:48:52+02:00')
    .setTimestampUtc('2019-01-27T13:48:52Z')
  const parsed = JSON.parse(new SecurityMessage(AGENT, '1').addEvent(event).build())
  assert.equal(parsed.Events[0].Id, '11111111-2222-3333-4444-555555555555')
  assert.equal(parsed.Events[0].TimestampLocal, '2019-01-27 15:48:52+02:00')
  assert.equal(parsed.Events[0].IsEmpty, true)
  assert.deepEqual(parsed.Events[0].Payload, [])
  assert.throws(() => new SecurityMessage(AGENT, '1').addEvent(new Event('ProcessCreate')).build(), (err) => {
    assert.equal(err.code, 'SCHEMA_VALIDATION')
    assert.ok(err.violations.length > 0)
    assert.ok(err.violations.every((v) => v.pointer.startsWith('/Events/0')), JSON.stringify(err.violations))
    return true
  })
})

test('several events and records; invalid records are reported where they are', () => {
  const msg = new SecurityMessage(AGENT, '2.0')
    .addEvent(Event.processCreate(SAMPLES.ProcessCreate, { ...SAMPLES.ProcessCreate, ProcessId: 2 }))
    .addEvent(Event.login(SAMPLES.Login).addRecord({ ...SAMPLES.Login, UserName: undefined, UserId: '0' }))
  assert.deepEqual(validate(msg.build()), [])
  const built = msg.buildMessage()
  assert.equal(built.interfaceId, SECURITY_INTERFACE_ID)
  assert.equal(built.contentType, 'application/json')
  assert.equal(built.contentEncoding, 'utf-8')
  assert.equal(JSON.parse(built.data).Events.length, 2)
  const bad = new SecurityMessage(AGENT, '2.0')
    .addEvent(Event.listeningPorts(SAMPLES.ListeningPorts))
    .addEvent(Event.connectionCreate({ ...SAMPLES.ConnectionCreate, RemoteAddress: 'not an ip', Direction: 'Sideways' }))
  assert.throws(() => bad.build(), (err) => {
    const pointers = err.violations.map((v) => v.pointer)
    assert.ok(pointers.includes('/Events/1/Payload/0/RemoteAddress'), pointers.join())
    assert.ok(pointers.includes('/Events/1/Payload/0/Direction'), pointers.join())
    return true
  })
  assert.throws(() => new SecurityMessage('not-a-guid', '1').addEvent(Event.listeningPorts()).build(), (err) => {
    assert.deepEqual(err.violations.map((v) => v.pointer), ['/AgentId'])
    return true
  })
})
