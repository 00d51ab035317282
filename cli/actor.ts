/** Who the CLI acts for, in audit entries and execution inputs: `cli:<user>`. */
export const operatorActor = (): string => `cli:${process.env.USER ?? 'operator'}`;
