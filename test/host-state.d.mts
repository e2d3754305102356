export function sh(argv: string[]): { status: number | null; stdout: string; stderr: string };
export function hostNetworkState(): string;
export function hostState(): Record<string, string>;
export function hostStateChanges(before: Record<string, string>, after: Record<string, string>): string[];
