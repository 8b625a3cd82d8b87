// Xen Orchestra's XAPI client (npm xen-api) against a simulated pool; run by
// tests/unit/test_xapi_js.py. Reads {url, user, password, transport, vm} as JSON
// on stdin (the password stays out of argv), prints one JSON report on stdout.
import { createClient } from 'xen-api'

const readStdin = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString())
}

// The XapiError the call fails with, as {code, params}.
const failure = async promise => {
  try {
    await promise
  } catch (error) {
    return { code: error.code, params: error.params }
  }
  throw new Error('the call succeeded')
}

const main = async () => {
  const opts = await readStdin()
  const xapi = createClient({
    url: opts.url,
    auth: { user: opts.user, password: opts.password },
    transport: opts.transport,
    watchEvents: false, // event.from is not simulated
    callTimeout: 20e3,
  })
  // login (following HOST_IS_SLAVE to the master), pool.get_all_records, then
  // system.listMethods, whose *.get_all_records names it keeps as the pool's types
  await xapi.connect()
  try {
    const hosts = Object.values(await xapi.getAllRecords('host'))
    const vm = await xapi.getRecordByUuid('VM', opts.vm)
    await xapi.call('VM.clean_shutdown', vm.$ref)
    const halted = await xapi.getField('VM', vm.$ref, 'power_state')
    await xapi.call('VM.start', vm.$ref, false, false)
    const started = await xapi.getRecord('VM', vm.$ref)
    const report = {
      master: xapi.pool.master,
      hosts: hosts.map(h => ({ ref: h.$ref, uuid: h.uuid, address: h.address })),
      vm: { ref: vm.$ref, before: vm.power_state, memory: vm.memory_static_max },
      halted,
      started: { power_state: started.power_state, domid: started.domid, host: started.resident_on },
      bad_ref: await failure(xapi.call('VM.start', 'OpaqueRef:nope', false, false)),
    }
    process.stdout.write(JSON.stringify(report) + '\n')
  } finally {
    await xapi.disconnect()
  }
}

main().catch(error => {
  process.stderr.write(String(error?.stack ?? error) + '\n')
  process.exit(1)
})
