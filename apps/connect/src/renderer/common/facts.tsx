/** A list of labelled facts (relay, pin, device…), each value in code type, optionally with a test id. */
export function Facts({ rows, label }: { rows: [name: string, value: string, testId?: string][]; label?: string }) {
  return (
    <dl className="facts" aria-label={label}>
      {rows.map(([name, value, testId]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>
            <code data-testid={testId}>{value}</code>
          </dd>
        </div>
      ))}
    </dl>
  );
}
