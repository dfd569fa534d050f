import { resolve } from 'node:path';
import connectPackage from '../../../package.json' with { type: 'json' };
import { buildSupportBundle, writeSupportBundle } from '../../core/diagnostics/support-bundle.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { runCliDoctor } from './doctor.js';

/** `airlock support-bundle [file]`: the doctor's run and Connect's recent logs in one archive, no secrets. */
export async function supportBundleCommand(
  ctx: CliContext,
  file: string | undefined,
  opts: { lines: number },
): Promise<number> {
  process.stderr.write('running airlock doctor for the bundle…\n');
  const report = await runCliDoctor(ctx);
  const bundle = await buildSupportBundle({
    paths: ctx.paths,
    logFolder: ctx.logFolder,
    report,
    lines: opts.lines,
    now: new Date(),
    versions: { connect: connectPackage.version },
  });
  const target = resolve(file ?? `${bundle.name}.tar.gz`);
  try {
    await writeSupportBundle(target, bundle);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`${target} already exists; nothing was written`, 'name another file');
    throw new CliError(
      `cannot write ${target}: ${code ?? (e as Error).message}`,
      'name a file in a folder you can write to',
    );
  }
  ctx.log.info({ file: target, bytes: bundle.archive.length, doctorOk: report.ok }, 'support bundle written');
  process.stdout.write(
    `wrote ${target} (${Math.ceil(bundle.archive.length / 1024)} KiB): ${bundle.files.join(', ')}\n` +
      `no secrets are in it; attach it to your helpdesk ticket. The doctor ${report.ok ? 'found no problem' : 'found problems: see doctor.txt in it, or run airlock doctor'}\n`,
  );
  return EXIT.ok;
}
