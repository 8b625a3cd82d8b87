// Xen Orchestra's XAPI client (npm xen-api) against a simulated pool; run by
// tests/unit/test_xapi_js.py. Reads {url, user, password, transport, vm} as JSON
// on stdin (the password stays out of argv), prints one JSON report on stdout.
// It watches events (event.inject for its first token, then event.from), which its
// callAsync needs: it learns a task's end from the task's events.
import { createClient } from 'xen-api'

const readStdin = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString())
}

// The error the call fails with: a XapiError as {code, params}, else {name, message}.
const failure = async promise => {
  try {
    await promise
  } catch (error) {
    if (error.code !== undefined) return { code: error.code, params: error.params }
    return { name: error.constructor.name, message: error.message }
  }
  throw new Error('the call succeeded')
}

const pause = ms => new Promise(resolve => setTimeout(resolve, ms))

// Cancel the task of an Async `label` call once it can be, as a user would (XO's
// task view offers it when allowed_operations has cancel).
const cancelPending = async (xapi, label) => {
  for (;;) {
    const tasks = Object.entries(await xapi.call('task.get_all_records'))
    const found = tasks.find(([, t]) => t.name_label === label && t.allowed_operations.includes('cancel'))
    if (found !== undefined) return xapi.call('task.cancel', found[0])
    await pause(50)
  }
}

// callAsync: a result, a failure, and a cancel (the test makes the migration slow).
const asyncCalls = async (xapi, vm, other) => {
  const report = {
    shutdown: await xapi.callAsync('VM.clean_shutdown', vm),
    start: await xapi.callAsync('VM.start', vm, false, false),
    failed: await failure(xapi.callAsync('VM.start', vm, false, false)),
  }
  const migrating = failure(xapi.callAsync('VM.pool_migrate', vm, other, {}))
  await cancelPending(xapi, 'Async.VM.pool_migrate')
  report.cancelled = await migrating
  report.resident_on = await xapi.getField('VM', vm, 'resident_on')
  return report
}

const main = async () => {
  const opts = await readStdin()
  const xapi = createClient({
    url: opts.url,
    auth: { user: opts.user, password: opts.password },
    transport: opts.transport,
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
    const other = hosts.find(h => h.$ref !== started.resident_on).$ref
    report.async = await asyncCalls(xapi, vm.$ref, other)
    process.stdout.write(JSON.stringify(report) + '\n')
  } finally {
    await xapi.disconnect()
  }
}

main().catch(error => {
  process.stderr.write(String(error?.stack ?? error) + '\n')
  process.exit(1)
})
