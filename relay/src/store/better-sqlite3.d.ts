/**
 * The part of better-sqlite3's API the store uses. The package ships no type declarations and
 * `@types/better-sqlite3` is not installed, so this keeps the store type-checked without it.
 */
declare module 'better-sqlite3' {
  namespace Database {
    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }

    interface Statement {
      run(...params: unknown[]): RunResult;
      get(...params: unknown[]): unknown;
      all(...params: unknown[]): unknown[];
    }

    /** Calling it runs `fn` in a BEGIN (deferred) transaction; the variants pick the BEGIN kind. */
    type Transaction<F extends (...args: never[]) => unknown> = F & { deferred: F; immediate: F; exclusive: F };

    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      /** Busy timeout in ms. */
      timeout?: number;
    }

    interface PragmaOptions {
      simple?: boolean;
    }

    interface Database {
      readonly open: boolean;
      readonly inTransaction: boolean;
      readonly name: string;
      readonly memory: boolean;
      prepare(source: string): Statement;
      exec(source: string): this;
      pragma(source: string, options?: PragmaOptions): unknown;
      transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
      close(): this;
    }

    interface SqliteError extends Error {
      code: string;
    }

    interface DatabaseConstructor {
      new (filename: string, options?: Options): Database;
      SqliteError: new (message: string, code: string) => SqliteError;
    }
  }

  const Database: Database.DatabaseConstructor;
  export = Database;
}
