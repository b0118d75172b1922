// Every property runs twice. First with a fixed seed, the same in every CI run, so that a red
// build means the change under test broke something and not that the dice rolled differently.
// Then with a fresh random seed, so that the generators keep exploring new cases; that seed is
// printed (once per process, and in the message of any failure) so a failure can be replayed:
//
//   PULLFIX_SEED=<seed> npx mocha --no-config --timeout 20000 dist/test/<file>.test.js
//
// fast-check's own failure message adds the shrunk counterexample and its `path`.
import fc from 'fast-check';

/** The seed every property runs with first, in every run. */
export const FIXED_SEED = 20_250_611;

function seedFromEnvironment(): number | undefined {
  const raw = process.env.PULLFIX_SEED;
  if (raw === undefined || raw.trim() === '') return undefined;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`PULLFIX_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return seed | 0;
}

/** The second run's seed: PULLFIX_SEED when set (a replay), else random; one per process. */
export const RANDOM_SEED: number = seedFromEnvironment() ?? (Math.random() * 0x1_0000_0000) | 0;

let announced = false;

function announce(): void {
  if (announced) return;
  announced = true;
  console.log(`      fast-check seeds: fixed ${FIXED_SEED}, random ${RANDOM_SEED} (replay with PULLFIX_SEED=${RANDOM_SEED})`);
}

function runs(): Array<[label: string, seed: number]> {
  return [
    ['fixed', FIXED_SEED],
    ['random', RANDOM_SEED],
  ];
}

/** Says which run failed and how to replay it, ahead of fast-check's own report. */
function withSeed(err: unknown, label: string, seed: number): unknown {
  if (err instanceof Error) {
    err.message = `[${label} seed ${seed}; replay with PULLFIX_SEED=${seed}] ${err.message}`;
  }
  return err;
}

type Params<Ts> = Omit<fc.Parameters<Ts>, 'seed' | 'path'>;

/** fc.assert, twice: with FIXED_SEED, then with RANDOM_SEED. */
export function checkProperty<Ts>(property: fc.IProperty<Ts>, params?: Params<Ts>): void {
  announce();
  for (const [label, seed] of runs()) {
    try {
      fc.assert(property, { ...params, seed });
    } catch (err) {
      throw withSeed(err, label, seed);
    }
  }
}

/** The same for an asynchronous property. */
export async function checkAsyncProperty<Ts>(property: fc.IAsyncProperty<Ts>, params?: Params<Ts>): Promise<void> {
  announce();
  for (const [label, seed] of runs()) {
    try {
      await fc.assert(property, { ...params, seed });
    } catch (err) {
      throw withSeed(err, label, seed);
    }
  }
}
