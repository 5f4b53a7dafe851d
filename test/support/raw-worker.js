// A hand-written worker for protocol edge cases the real worker never produces (tests only). RAW_WORKER_MODE:
//   wrong-version → says ready with protocolVersion 999;  silent → never says ready;  die-at-start → exits at once
const mode = process.env.RAW_WORKER_MODE;
if (mode === 'die-at-start') { process.stderr.write('raw worker: cannot start\n'); process.exit(5); }
if (mode === 'wrong-version') process.send({ type: 'ready', protocolVersion: 999, pid: process.pid });
setInterval(() => {}, 1000);
