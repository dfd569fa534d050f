export { CliError } from '@airlock/shared';
