export { CliError } from '@airlock/shared';

/** Where the CLI writes; tests replace it. */
export interface OrgIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

export function defaultIo(): OrgIo {
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    env: process.env,
  };
}
