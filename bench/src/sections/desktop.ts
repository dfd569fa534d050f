// The desktop app in browser mode, in Debian's Chromium (start to an interactive VM list, echo
// in xterm), and its renderer's size as users download it.
import { rendererGzippedBytes } from '../../../scripts/tasks/bundle.js';
import { measureApp } from '../app-bench.js';
import { BENCH_VM } from '../bench-system.js';
import type { SectionContext } from './context.js';

export async function measureDesktopSection({ sys, table }: SectionContext) {
  const app = await measureApp(sys.home, BENCH_VM);
  if (typeof app === 'string') table.row('desktop app (browser mode)', `n/a: ${app}`, '');
  else {
    table.row('app start → interactive VM list, warm (ms, median)', app.startToVmList.median, '');
    table.row('  the same, as the driver saw it (its polling included)', app.startToVmList.seenByDriverMedian, '');
    const p = app.startToVmList.phases;
    table.row(
      '  address printed / tab open / DOMContentLoaded / API open (ms)',
      `${p.address}/${p.tab}/${p.domContentLoaded}/${p.apiOpen}`,
      '',
    );
    table.row(
      'keystroke echo in the app (xterm, via relay) p50 / p99 (ms)',
      app.echo.p50.toFixed(2),
      app.echo.p99.toFixed(2),
    );
  }
  // Built by bundlePrograms at the bench's start.
  const renderer = rendererGzippedBytes();
  const kb = (files: typeof renderer) => files.reduce((n, f) => n + f.gzipped, 0) / 1024;
  table.row('renderer bundle, gzipped (KB)', kb(renderer), '');
  table.row('  of it loaded for the first screen (KB)', kb(renderer.filter((f) => f.firstScreen)), '');
  return { app, rendererBytes: renderer };
}
