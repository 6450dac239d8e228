// packed_product's loops, written once for two element types: kernel_bodies.h includes this
// file with SCALAR, VECTOR (LANES of them), SPLAT, LOAD, STORE and PRODUCT(name) (the
// functions' names) defined for float (16 lanes: tagging's and training's products) and
// for double (8 lanes: the CRF's scaled recursions); the end of this file undefines them.

// packed_product (trellis_kernels.h), one tile of c at a time: `rows` rows of a by
// `panelCount` panels of LANES columns, its sums in registers, which start at 0 (or, for
// PRODUCT_CONTINUE, at c); for k ascending from `from` to `depth`,
//   sums[r][p] = sums[r][p] + a[r][k] · panel p's LANES values at k
// (one fused multiply-add where the level's FUSED_MULTIPLY_ADD says so, kernel_bodies.h), then
// c = sums, or c = c + sums for PRODUCT_ADD. a's element (r, k) is at
// a[r·rowStride + (k − from)·depthStride]: (depth, 1) for a row-major a, (1, its row length)
// for the transpose of one. `rows`, `panelCount`, `mode` and (but for PRODUCT_CONTINUE)
// `from` are constants at each call site.
// The level's file sets the largest tile to its register file (PRODUCT_ROWS ×
// PRODUCT_PANELS); every element of c is the same sum in the same order at any tile, so the
// tile changes speed, never the bits.
// A tile runs k over [begin, end) of that range; the sums of a depth block that another
// follows are kept in `carry` (PRODUCT_PANELS·LANES per row, full vectors) and the next block
// starts from them (`carriedIn`), so a product cut into blocks sums each element in the same
// order, with the same roundings, as one pass over the whole depth.
// The loops over rows and panels that load and store the sums are unrolled in full, so the
// sums live in registers from first to last: left to itself, clang kept the AVX-512 adding
// product's in an array on the stack, zeroed by a call to memset and copied in and out around
// each block of k, and ∂W = ∂Zᵀ·X ran at 0.91–0.93 of the speed (`REVISION_A=41db7f7
// LEVEL=avx512 scripts/pair-kernel-variants.sh '' ''`, Eval/SPEED.md "Session 30").
INLINE void PRODUCT(tile)(
  const SCALAR *a, long rowStride, long depthStride, long from, long begin, long end,
  long depth, const SCALAR *panels, int rows, int panelCount, SCALAR *c, long columns,
  long column, int mode, SCALAR *carry, bool carriedIn, bool carriesOut) {
  VECTOR sums[PRODUCT_ROWS][PRODUCT_PANELS];
#pragma clang loop unroll(full)
  for (int r = 0; r < rows; r++) {
#pragma clang loop unroll(full)
    for (int p = 0; p < panelCount; p++) {
      const long first = column + LANES * p;
      const SCALAR *start = c + r * columns + first;
      if (carriedIn) {
        sums[r][p] = LOAD(carry + (r * PRODUCT_PANELS + p) * LANES);
      } else if (mode != PRODUCT_CONTINUE) {
        sums[r][p] = SPLAT(0);
      } else if (columns - first >= LANES) {
        sums[r][p] = LOAD(start);
      } else {
        SCALAR lanes[LANES] = {0};
        memcpy(lanes, start, (size_t)(columns - first) * sizeof(SCALAR));
        sums[r][p] = LOAD(lanes);
      }
    }
  }
  for (long k = begin; k < end; k++) {
    VECTOR w[PRODUCT_PANELS];
    for (int p = 0; p < panelCount; p++) w[p] = LOAD(panels + (p * depth + k) * LANES);
    for (int r = 0; r < rows; r++) {
      const VECTOR x = SPLAT(a[r * rowStride + (k - from) * depthStride]);
      for (int p = 0; p < panelCount; p++) sums[r][p] = MULTIPLY_ADD(x, w[p], sums[r][p]);
    }
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < rows; r++) {
#pragma clang loop unroll(full)
    for (int p = 0; p < panelCount; p++) {
      const long first = column + LANES * p;
      SCALAR *destination = c + r * columns + first;
      const bool adds = mode == PRODUCT_ADD;
      if (carriesOut) {
        STORE(carry + (r * PRODUCT_PANELS + p) * LANES, sums[r][p]);
      } else if (columns - first >= LANES) {
        STORE(destination, adds ? LOAD(destination) + sums[r][p] : sums[r][p]);
      } else {
        // The last panel's spare columns are never read or written in c.
        const size_t bytes = (size_t)(columns - first) * sizeof(SCALAR);
        SCALAR lanes[LANES] = {0};
        if (adds) memcpy(lanes, destination, bytes);
        STORE(lanes, adds ? LOAD(lanes) + sums[r][p] : sums[r][p]);
        memcpy(destination, lanes, bytes);
      }
    }
  }
}

// All rows against `panelCount` panels from column `column`, k over [begin, end): full tiles
// of PRODUCT_ROWS while rows for three or more of them remain, then the last rows in the
// fewest tiles, their heights as even as whole rows allow (32 rows at 6 a tile: 6, 6, 6, 5,
// 5, 4; 13: 5, 4, 4).
// A short tile leaves too few independent sums to hide the fused multiply-add's latency: the
// 13-row product ran at 0.85–0.88 of the speed as 4, 4, 4, 1 (`REVISION_A=c053684^
// scripts/pair-kernel-variants.sh '' ''`). The plain loop over full tiles keeps the long
// products (400 rows) as fast as before: choosing a height at every tile ran AVX-512's
// transposed ones at 0.95–1.0 of that (`REVISION_A=c10423a LEVEL=avx512`, the same script).
// `carry`, when a block's sums are carried, has PRODUCT_PANELS·LANES values per row of a.
#if PRODUCT_ROWS > 8 || PRODUCT_ROWS % 2
#error "PRODUCT(rows) has tiles of an even number of rows, at most 8"
#endif
INLINE void PRODUCT(rows)(
  const SCALAR *a, long rowStride, long depthStride, long rows, long from, long begin, long end,
  long depth, const SCALAR *panels, int panelCount, SCALAR *c, long columns, long column,
  int mode, SCALAR *carry, bool carriedIn, bool carriesOut) {
#define PRODUCT_TILE(height) \
  PRODUCT(tile)( \
    a + r * rowStride, rowStride, depthStride, from, begin, end, depth, panels, height, \
    panelCount, c + r * columns, columns, column, mode, \
    carry ? carry + r * PRODUCT_PANELS * LANES : carry, carriedIn, carriesOut)
  // Each height a constant at its call, so that the tile's loops unroll into registers.
#define PRODUCT_HEIGHTS(even, odd) \
  case even: PRODUCT_TILE(even); break; \
  case odd: PRODUCT_TILE(odd); break;
  long r = 0;
  for (; rows - r >= 3 * PRODUCT_ROWS; r += PRODUCT_ROWS) PRODUCT_TILE(PRODUCT_ROWS);
  for (long height; r < rows; r += height) {
    const long tiles = (rows - r + PRODUCT_ROWS - 1) / PRODUCT_ROWS;
    height = (rows - r + tiles - 1) / tiles;
    switch (height) {
#if PRODUCT_ROWS >= 8
      PRODUCT_HEIGHTS(8, 7)
#endif
#if PRODUCT_ROWS >= 6
      PRODUCT_HEIGHTS(6, 5)
#endif
#if PRODUCT_ROWS >= 4
      PRODUCT_HEIGHTS(4, 3)
#endif
      PRODUCT_HEIGHTS(2, 1)
    }
  }
#undef PRODUCT_HEIGHTS
#undef PRODUCT_TILE
}

// One group of `panelCount` panels over the whole depth: in one pass, or, with `carry`, in
// blocks of PRODUCT_DEPTH_BLOCK steps of k, each block over every row before the next.
INLINE void PRODUCT(group)(
  const SCALAR *a, long rowStride, long depthStride, long rows, long from, long depth,
  const SCALAR *panels, int panelCount, SCALAR *c, long columns, long column, int mode,
  SCALAR *carry) {
  if (!carry) {
    PRODUCT(rows)(
      a, rowStride, depthStride, rows, from, from, depth, depth, panels, panelCount, c, columns,
      column, mode, carry, false, false);
    return;
  }
  for (long begin = from; begin < depth; begin += PRODUCT_DEPTH_BLOCK) {
    const long end = depth - begin > PRODUCT_DEPTH_BLOCK ? begin + PRODUCT_DEPTH_BLOCK : depth;
    PRODUCT(rows)(
      a, rowStride, depthStride, rows, from, begin, end, depth, panels, panelCount, c, columns,
      column, mode, carry, begin > from, end < depth);
  }
}

// The last panel when at most LANES/2 of its columns are c's (a hidden size of 100 leaves 4
// of 16): the same sums on vectors of half the lanes, the panel's first half, so that panel
// costs half the arithmetic. Tiles of up to 2·PRODUCT_ROWS rows, whose sums take the registers
// of a full tile's; c written only in its columns.
INLINE void PRODUCT(half_tile)(
  const SCALAR *a, long rowStride, long depthStride, long from, long depth,
  const SCALAR *panel, int rows, SCALAR *c, long columns, long first, int mode) {
  const size_t bytes = (size_t)(columns - first) * sizeof(SCALAR);
  HALF_VECTOR sums[2 * PRODUCT_ROWS];
  for (int r = 0; r < rows; r++) {
    sums[r] = HALF_SPLAT(0);
    if (mode == PRODUCT_CONTINUE) memcpy(&sums[r], c + r * columns + first, bytes);
  }
  for (long k = from; k < depth; k++) {
    HALF_VECTOR w;
    memcpy(&w, panel + k * LANES, sizeof w);
    for (int r = 0; r < rows; r++) {
      sums[r] = MULTIPLY_ADD(
        HALF_SPLAT(a[r * rowStride + (k - from) * depthStride]), w, sums[r]);
    }
  }
  for (int r = 0; r < rows; r++) {
    SCALAR *destination = c + r * columns + first;
    HALF_VECTOR lanes = HALF_SPLAT(0);
    if (mode == PRODUCT_ADD) memcpy(&lanes, destination, bytes);
    lanes = mode == PRODUCT_ADD ? lanes + sums[r] : sums[r];
    memcpy(destination, &lanes, bytes);
  }
}

INLINE void PRODUCT(half_rows)(
  const SCALAR *a, long rowStride, long depthStride, long rows, long from, long depth,
  const SCALAR *panel, SCALAR *c, long columns, long first, int mode) {
  long r = 0;
#define HALF_TILE(height) \
  PRODUCT(half_tile)( \
    a + r * rowStride, rowStride, depthStride, from, depth, panel, height, c + r * columns, \
    columns, first, mode)
  for (; r + 2 * PRODUCT_ROWS <= rows; r += 2 * PRODUCT_ROWS) HALF_TILE(2 * PRODUCT_ROWS);
  if (rows - r >= PRODUCT_ROWS) {
    HALF_TILE(PRODUCT_ROWS);
    r += PRODUCT_ROWS;
  }
  for (; r < rows; r++) HALF_TILE(1);
#undef HALF_TILE
}

// Panels in groups of PRODUCT_PANELS (its group stays in the first-level cache while every
// row passes over it), the last group possibly smaller, a last panel of at most LANES/2
// columns in half vectors.
// A transposed a (depthStride ≠ 1) takes a new cache line at every step of k, of which a tile
// uses its rows' few values; over a long depth those lines and the group's panels outgrow the
// first-level cache, and every tile reads both again from the second (ATIS's ∂W = ∂Zᵀ·X over
// T·B ≈ 640 rows ran at 0.70 of the row-major product's speed). Such products take their
// depth in blocks, each block's lines and panels shared by all rows while they are cached.
INLINE void PRODUCT(panels)(
  const SCALAR *a, long rowStride, long depthStride, long rows, long from, long depth,
  const SCALAR *panels, long columns, SCALAR *c, int mode) {
  // Panels of more than LANES/2 columns, then the narrow last one if there is one.
  const long widePanels = (columns + LANES / 2 - 1) / LANES;
  // Without memory for the carried sums, one pass: the same bits, more slowly.
  SCALAR *carry = depthStride != 1 && depth - from > PRODUCT_DEPTH_BLOCK && widePanels > 0
    ? malloc((size_t)rows * PRODUCT_PANELS * LANES * sizeof(SCALAR))
    : NULL;
  long p = 0;
  for (; p + PRODUCT_PANELS <= widePanels; p += PRODUCT_PANELS) {
    PRODUCT(group)(
      a, rowStride, depthStride, rows, from, depth, panels + p * LANES * depth, PRODUCT_PANELS,
      c, columns, LANES * p, mode, carry);
  }
  for (; p < widePanels; p++) {
    PRODUCT(group)(
      a, rowStride, depthStride, rows, from, depth, panels + p * LANES * depth, 1, c, columns,
      LANES * p, mode, carry);
  }
  free(carry);
  if (LANES * p < columns) {
    PRODUCT(half_rows)(
      a, rowStride, depthStride, rows, from, depth, panels + p * LANES * depth, c, columns,
      LANES * p, mode);
  }
}

#undef PRODUCT
#undef STORE
#undef LOAD
#undef HALF_SPLAT
#undef SPLAT
#undef LANES
#undef HALF_VECTOR
#undef VECTOR
#undef SCALAR
