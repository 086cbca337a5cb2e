'use strict'
// The child process of secrets.test.js (not a test file): a full session at TRACE logging
// (IOTSEC_LOG=trace, set by the parent) against the local hub: open, send for a few seconds
// with a 5 s SAS token (so the token is renewed), then the failures whose messages could carry
// a secret. Prints one JSON line: what happened, and every error's text and stack.

const iotsec = require('iotsec')
const { Client, Message, Mqtt } = iotsec

const config = JSON.parse(process.env.IOTSEC_SECRETS_CONFIG)
const out = { errors: [], events: [], started: Date.now() / 1000 }

function note (e) {
  out.errors.push({ code: e.code, message: e.message, stack: String(e.stack), json: JSON.stringify(e) })
}

async function main () {
  const client = Client.fromConnectionString(config.connectionString, Mqtt)
  await client.setOptions({ ca: config.ca, port: config.port, tokenRenewal: { tokenValidTimeInSeconds: 5 } })
  client.on('reconnecting', (r) => out.events.push(['reconnecting', r.attempt, r.reason, r.error.message]))
  client.on('connect', () => out.events.push(['connect']))
  client.on('disconnect', (r) => out.events.push(['disconnect', r.transportObj && r.transportObj.message]))
  await client.open()
  let sent = 0
  while (Date.now() / 1000 - out.started < config.seconds) {
    const m = new Message(`{"n":${sent}}`)
    m.messageId = `s-${sent}`
    m.properties.add('k', 'v')
    await client.sendEvent(m)
    sent++
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  await client.close()
  out.sent = sent

  for (const [cs, options] of config.failing) {
    try {
      const c = Client.fromConnectionString(cs, Mqtt)
      try {
        if (options) await c.setOptions(options)
        await c.open()
      } finally {
        await c.close().catch(() => {})
      }
    } catch (e) {
      note(e)
    }
  }
  out.ended = Date.now() / 1000
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((e) => {
  process.stderr.write(`session failed: ${e.code} ${e.message}\n`)
  process.exit(1)
})
