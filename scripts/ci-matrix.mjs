// Prints the build and test matrices of .github/workflows/ci.yml as `build=<json>` and
// `test=<json>` lines for $GITHUB_OUTPUT, from package.json's napi.targets (the one list
// of targets, parsed by the napi CLI). What this file adds is only how GitHub runs each
// target: runner labels, cross-compilation flags and, for Linux, the Docker image.
import { fileURLToPath } from 'node:url';
import { readNapiConfig } from '@napi-rs/cli';

const { targets } = await readNapiConfig(fileURLToPath(new URL('../package.json', import.meta.url)));

const RUNNER = { linux: 'ubuntu-latest', darwin: 'macos-latest', win32: 'windows-latest' };

/**
 * glibc binaries are built with napi-rs's cross toolchain against an old glibc (2.17), so
 * they load on older distributions than the runner's; musl ones with zig (cargo-zigbuild).
 * macOS and Windows cross-compile to their other CPU with the stock toolchains.
 */
function buildFlags(t) {
  if (t.platform !== 'linux') return '';
  return t.abi === 'musl' ? '--cross-compile' : '--use-napi-cross';
}

/**
 * Where a binary is tested: on its own OS and CPU. Linux runs inside Node's Docker images
 * (Debian for glibc, Alpine for musl), which have no Rust at all; x64 macOS runs under
 * Rosetta on an arm64 runner.
 */
function testRunner(t) {
  if (t.platform === 'linux') {
    return {
      host: t.arch === 'arm64' ? 'ubuntu-24.04-arm' : 'ubuntu-latest',
      image: t.abi === 'musl' ? 'alpine' : 'bookworm-slim',
      docker_platform: `linux/${t.arch === 'arm64' ? 'arm64' : 'amd64'}`,
    };
  }
  if (t.platform === 'win32') return { host: t.arch === 'arm64' ? 'windows-11-arm' : 'windows-latest', node_arch: t.arch };
  return { host: 'macos-latest', node_arch: t.arch };
}

const build = targets.map((t) => ({ target: t.triple, host: RUNNER[t.platform], flags: buildFlags(t) }));
const test = targets.map((t) => ({ target: t.triple, ...testRunner(t) }));

console.log(`build=${JSON.stringify(build)}`);
console.log(`test=${JSON.stringify(test)}`);
