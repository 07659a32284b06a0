// Mocha settings. With test files named on the command line, only those run, one after another (mocha would
// otherwise add the whole suite from `spec`): `npx mocha dist/test/updater/update.test.js` runs one file.
// The whole suite runs its files in 2 worker processes: most of its time is spent waiting on the real processes,
// servers and timers a test starts, so 2 files at a time finish sooner on 2 cores (SWARM_TEST_JOBS overrides;
// 1 runs the suite in one process). Each worker takes its own share of the test ports (scripts/ports.ts).
const named = process.argv.slice(2).some((a) => !a.startsWith('-') && /\.test\.js$/.test(a));
const jobs = Number(process.env.SWARM_TEST_JOBS ?? 2);
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`SWARM_TEST_JOBS=${process.env.SWARM_TEST_JOBS} is not a whole number of workers; give 1 (one process) or more`);
module.exports = {
  ...(named ? {} : { spec: ['dist/test/**/*.test.js'], ...(jobs > 1 ? { parallel: true, jobs } : {}) }),
  timeout: 30000,
  slow: 2000,
  exit: true,
};
