import { runInThisContext } from 'node:vm';
import { writeFileSync } from 'node:fs';
import nodeProcess from 'node:process';
test('probe', () => {
  const host = runInThisContext('process') as NodeJS.Process;
  console.log('same as global?', host === process, 'same as node:process?', host === nodeProcess, typeof host.on, host.pid === process.pid);
  host.on('exit', () => writeFileSync('/tmp/zz-probe-exit', 'fired ' + host.pid));
  process.on('exit', () => writeFileSync('/tmp/zz-probe-exit-fake', 'fired'));
});
