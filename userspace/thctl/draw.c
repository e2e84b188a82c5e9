// SPDX-License-Identifier: GPL-2.0
/* thctl: a map's layout, one character per slot. */
#include "thctl.h"

static unsigned int ndigits(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static unsigned int ilog2_u32(uint32_t v)
{
	unsigned int l = 0;

	while (v > 1) {
		v >>= 1;
		l++;
	}
	return l;
}

/*
 * One chain on one line: "  17 ########|##x.....". When the chain does not
 * fit in @cols, the first buckets are drawn and " +N" says how many more.
 */
static void draw_chain(FILE *f, const struct th_chain *c, unsigned int width,
		       unsigned int cols)
{
	const unsigned int per = TOPHASH_BUCKET_SLOTS + 1;
	unsigned int avail = cols - (3 + width);
	unsigned int fit = (avail + 1) / per, show, b, i;

	if (!fit)
		fit = 1;
	show = c->depth <= fit ? c->depth : (fit > 1 ? fit - 1 : 1);
	fprintf(f, "  %*u ", (int)width, c->bucket);
	for (b = 0; b < show; b++) {
		if (b)
			fputc('|', f);
		for (i = 0; i < TOPHASH_BUCKET_SLOTS; i++)
			fputc(th_slot_char(c->top[b * TOPHASH_BUCKET_SLOTS + i]), f);
	}
	if (show < c->depth)
		fprintf(f, " +%u", c->depth - show);
	fputc('\n', f);
}

const char *growing_str(const struct tophash_info *in)
{
	if (!(in->flags & TOPHASH_INFO_GROWING))
		return "no";
	if (in->flags & TOPHASH_INFO_SHRINKING)
		return "shrink";
	return in->flags & TOPHASH_INFO_SAME_SIZE ? "same-size" : "doubling";
}

static void draw_header(FILE *f, const struct tophash_info *in)
{
	fprintf(f, "map %u: B=%u count=%llu noverflow=%llu growing=%s",
		in->id, in->B, (ull)in->count, (ull)in->noverflow,
		growing_str(in));
	if (in->flags & TOPHASH_INFO_GROWING)
		fprintf(f, " nevacuate=%llu noldoverflow=%llu",
			(ull)in->nevacuate, (ull)in->noldoverflow);
	fprintf(f, " generation=%llu bytes=%llu%s\n", (ull)in->generation,
		(ull)in->bytes,
		in->flags & TOPHASH_INFO_IDENTITY ? " identity" :
		in->flags & TOPHASH_INFO_SIPHASH ? " siphash" : "");
}

/*
 * Draw every chain, the old table's first when growing. @max_rows > 0 draws
 * at most that many chains per table; the totals line counts them all.
 */
void draw_layout(FILE *f, const struct tophash_info *in,
		 const struct th_layout *lo, unsigned int max_rows, bool legend)
{
	uint64_t nstate[TOPHASH_MIN_TOPHASH + 1] = { 0 };
	uint32_t n[2] = { 0, 0 }, rows = 0, i, j;
	uint32_t cur = UINT32_MAX, chained = 0, deepest = 0;
	unsigned int width;

	for (i = 0; i < lo->nchains; i++)
		n[lo->chains[i].table == TOPHASH_LAYOUT_OLD]++;
	width = ndigits(n[0] > n[1] ? n[0] : n[1]);
	if (width < 3)
		width = 3;

	if (in)
		draw_header(f, in);
	for (i = 0; i < lo->nchains; i++) {
		const struct th_chain *c = &lo->chains[i];
		uint32_t t = c->table == TOPHASH_LAYOUT_OLD;

		if (c->table != cur) {
			if (max_rows && rows > max_rows)
				fprintf(f, "  ... %u more chains\n", rows - max_rows);
			cur = c->table;
			rows = 0;
			fprintf(f, "%s (2^%u = %u bucket%s)\n",
				t ? "old table" : n[1] ? "new table" : "table",
				ilog2_u32(n[t]), n[t], n[t] == 1 ? "" : "s");
		}
		for (j = 0; j < c->depth * TOPHASH_BUCKET_SLOTS; j++) {
			uint8_t s = c->top[j];

			nstate[s < TOPHASH_MIN_TOPHASH ? s : TOPHASH_MIN_TOPHASH]++;
		}
		if (c->depth > 1)
			chained++;
		if (c->depth > deepest)
			deepest = c->depth;
		if (!max_rows || rows < max_rows)
			draw_chain(f, c, width, LAYOUT_COLS);
		rows++;
	}
	if (max_rows && rows > max_rows)
		fprintf(f, "  ... %u more chains\n", rows - max_rows);
	fprintf(f, "slots: %llu full, %llu emptyOne, %llu emptyRest",
		(ull)nstate[TOPHASH_MIN_TOPHASH], (ull)nstate[TOPHASH_EMPTY_ONE],
		(ull)nstate[TOPHASH_EMPTY_REST]);
	if (n[1])
		fprintf(f, ", evacuated: %llu X, %llu Y, %llu empty",
			(ull)nstate[TOPHASH_EVACUATED_X],
			(ull)nstate[TOPHASH_EVACUATED_Y],
			(ull)nstate[TOPHASH_EVACUATED_EMPTY]);
	fprintf(f, "; %u chain%s with overflow, deepest %u\n", chained,
		chained == 1 ? "" : "s", deepest);
	if (legend)
		fprintf(f, "legend: # full  x emptyOne  . emptyRest  X/Y evacuated to X/Y  e evacuatedEmpty  | overflow\n");
}
