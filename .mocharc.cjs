// Mocha settings. With test files named on the command line, only those run (mocha would otherwise add the
// whole suite from `spec`): `npx mocha dist/test/updater/update.test.js` runs one file.
const named = process.argv.slice(2).some((a) => !a.startsWith('-') && /\.test\.js$/.test(a));
module.exports = {
  ...(named ? {} : { spec: ['dist/test/**/*.test.js'] }),
  timeout: 30000,
  slow: 2000,
  exit: true,
};
