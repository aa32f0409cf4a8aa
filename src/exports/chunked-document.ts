/**
 * A JSON document written as text and handed on in chunks of about `chunkBytes` (a chunk ends
 * at the first write, or array record, that reaches the size, so it is a little larger), so a
 * document of any length is never whole in memory. Chunks split between writes, never inside a
 * character.
 */
export class ChunkedDocument {
  private parts: string[] = [];
  private pending = 0;
  private seq = 0;
  private bytes = 0;

  constructor(
    private readonly store: (seq: number, data: Buffer) => Promise<void>,
    private readonly chunkBytes = 1 << 20,
  ) {}

  async write(text: string): Promise<void> {
    if (this.push(text)) await this.flush();
  }

  /** `"name":[…]` (after a comma unless it is the first member) from batches of records. */
  async array(
    name: string,
    batches: AsyncIterable<object[]>,
    present: (row: object) => unknown,
    first = false,
  ): Promise<void> {
    await this.write(`${first ? '' : ','}${JSON.stringify(name)}:[`);
    let separator = '';
    for await (const batch of batches) {
      for (const row of batch) {
        if (this.push(separator + JSON.stringify(present(row)))) await this.flush();
        separator = ',';
      }
    }
    await this.write(']');
  }

  /** Stores what is left; the number of chunks and bytes stored in all. */
  async end(): Promise<{ chunks: number; bytes: number }> {
    if (this.pending > 0) await this.flush();
    return { chunks: this.seq, bytes: this.bytes };
  }

  /** Whether the pending text has reached a chunk's size. */
  private push(text: string): boolean {
    this.parts.push(text);
    // UTF-16 code units: a lower bound of the UTF-8 size, good enough to decide when to cut.
    this.pending += text.length;
    return this.pending >= this.chunkBytes;
  }

  private async flush(): Promise<void> {
    const data = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    this.bytes += data.length;
    await this.store(this.seq++, data);
  }
}
