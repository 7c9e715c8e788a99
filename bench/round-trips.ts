import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Counts DynamoDB round trips on a real SDK v3 client with a middleware in the `deserialize` step. That step runs
 * inside the retry loop, once per HTTP attempt, so a retried request counts as two round trips, as it costs two.
 *
 * Sequential round trips (what a caller waits for) are counted as the number of times the number of requests in
 * flight rises from 0 to 1 within a window: requests sent in parallel count once.
 */
export interface RoundTripWindow {
  /** Every HTTP attempt. */
  readonly roundTrips: number;
  /** Waits one after another. */
  readonly sequential: number;
  readonly commands: string[];
}

export class RoundTripCounter {
  private total = 0;
  private inFlight = 0;
  private waves = 0;
  private commands: string[] = [];

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        this.total += 1;
        this.commands.push(String(context.commandName ?? 'unknown'));
        if (this.inFlight === 0) this.waves += 1;
        this.inFlight += 1;
        try {
          return await next(args);
        } finally {
          this.inFlight -= 1;
        }
      },
      { step: 'deserialize', name: 'benchRoundTripCounter', priority: 'low' },
    );
  }

  /** Total attempts since the client was created. */
  get count(): number {
    return this.total;
  }

  /** Starts a window; the returned function ends it and reports what happened inside. */
  window(): () => RoundTripWindow {
    const start = { total: this.total, waves: this.waves, commands: this.commands.length };
    return () => ({
      roundTrips: this.total - start.total,
      sequential: this.waves - start.waves,
      commands: this.commands.slice(start.commands),
    });
  }
}
