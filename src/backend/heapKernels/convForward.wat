  ;; ---- Convolution as an implicit GEMM ------------------------------------------------------------
  ;; y[p, co] = sum over k of patches(x)[p, k] w[k, co] (+ bias[co], then ReLU) for NHWC x, HWIO w and
  ;; positions p = (n, oh, ow): k = (i KW + j) C + ci reads x[n, oh sh + i - pt, ow sw + j - pl, ci]
  ;; (0 outside x). The patches are gathered straight into the gemm's packed blocks of 4 positions,
  ;; never stored as an im2col matrix. $desc points to 13 i32 as for convFilterGrad: N, H, W, C, OH,
  ;; OW, KH, KW, SH, SW, PT, PL, Cout. C must be a multiple of 4 (whole vectors of channels).

  ;; Packs positions [p0, p0 + rows) by taps [t0, t1) (all C channels of each) into blocks of 4
  ;; positions, dst[block][step][r] with (t1 - t0) C steps a block; positions past the end, and taps
  ;; outside x, read the C zeros at $zeros. Four channels of four positions are one 4 x 4 transpose.
  (func $convPatchPack (param $x i32) (param $desc i32) (param $p0 i32) (param $rows i32) (param $t0 i32) (param $t1 i32)
      (param $zeros i32) (param $dst i32)
    (local $H i32) (local $W i32) (local $C i32) (local $OH i32) (local $OW i32) (local $KW i32)
    (local $SH i32) (local $SW i32) (local $PT i32) (local $PL i32)
    (local $b i32) (local $r i32) (local $p i32) (local $t i32) (local $i i32) (local $j i32) (local $ci i32)
    (local $image i32) (local $rem i32)
    (local $img0 i32) (local $img1 i32) (local $img2 i32) (local $img3 i32)
    (local $h0 i32) (local $h1 i32) (local $h2 i32) (local $h3 i32)
    (local $w0 i32) (local $w1 i32) (local $w2 i32) (local $w3 i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $rowBytes i32) (local $pixelBytes i32) (local $blockBytes i32) (local $d i32) (local $q i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local.set $H (i32.load offset=4 (local.get $desc)))
    (local.set $W (i32.load offset=8 (local.get $desc)))
    (local.set $C (i32.load offset=12 (local.get $desc)))
    (local.set $OH (i32.load offset=16 (local.get $desc)))
    (local.set $OW (i32.load offset=20 (local.get $desc)))
    (local.set $KW (i32.load offset=28 (local.get $desc)))
    (local.set $SH (i32.load offset=32 (local.get $desc)))
    (local.set $SW (i32.load offset=36 (local.get $desc)))
    (local.set $PT (i32.load offset=40 (local.get $desc)))
    (local.set $PL (i32.load offset=44 (local.get $desc)))
    (local.set $pixelBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $W) (local.get $pixelBytes)))
    (local.set $blockBytes (i32.shl (i32.mul (i32.sub (local.get $t1) (local.get $t0)) (local.get $C)) (i32.const 4)))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_s (local.get $b) (local.get $rows)))
      ;; each of the block's 4 positions: its image's address and its window's top-left corner; a
      ;; position past the end gets a corner no tap reaches (height H), so it reads zeros
      (local.set $r (i32.const 0))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (i32.const 4)))
        (local.set $p (i32.add (local.get $p0) (i32.add (local.get $b) (local.get $r))))
        (local.set $image (i32.div_u (local.get $p) (i32.mul (local.get $OH) (local.get $OW))))
        (local.set $rem (i32.sub (local.get $p) (i32.mul (local.get $image) (i32.mul (local.get $OH) (local.get $OW)))))
        (local.set $image (i32.add (local.get $x) (i32.mul (local.get $image) (i32.mul (local.get $H) (local.get $rowBytes)))))
        (local.set $i (i32.sub (i32.mul (i32.div_u (local.get $rem) (local.get $OW)) (local.get $SH)) (local.get $PT)))
        (local.set $j (i32.sub (i32.mul (i32.rem_u (local.get $rem) (local.get $OW)) (local.get $SW)) (local.get $PL)))
        (if (i32.ge_s (i32.add (local.get $b) (local.get $r)) (local.get $rows)) (then
          (local.set $i (i32.add (local.get $H) (i32.const 1)))))
        (if (i32.eqz (local.get $r)) (then (local.set $img0 (local.get $image)) (local.set $h0 (local.get $i)) (local.set $w0 (local.get $j))))
        (if (i32.eq (local.get $r) (i32.const 1)) (then (local.set $img1 (local.get $image)) (local.set $h1 (local.get $i)) (local.set $w1 (local.get $j))))
        (if (i32.eq (local.get $r) (i32.const 2)) (then (local.set $img2 (local.get $image)) (local.set $h2 (local.get $i)) (local.set $w2 (local.get $j))))
        (if (i32.eq (local.get $r) (i32.const 3)) (then (local.set $img3 (local.get $image)) (local.set $h3 (local.get $i)) (local.set $w3 (local.get $j))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop)))
      (local.set $d (local.get $dst))
      (local.set $t (local.get $t0))
      (local.set $i (i32.div_u (local.get $t0) (local.get $KW)))
      (local.set $j (i32.rem_u (local.get $t0) (local.get $KW)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_s (local.get $t) (local.get $t1)))
        ;; the tap's source pixel for each position (unsigned compares: a negative coordinate is a huge one)
        (local.set $s0 (select
          (i32.add (local.get $img0) (i32.add (i32.mul (i32.add (local.get $h0) (local.get $i)) (local.get $rowBytes)) (i32.mul (i32.add (local.get $w0) (local.get $j)) (local.get $pixelBytes))))
          (local.get $zeros)
          (i32.and (i32.lt_u (i32.add (local.get $h0) (local.get $i)) (local.get $H)) (i32.lt_u (i32.add (local.get $w0) (local.get $j)) (local.get $W)))))
        (local.set $s1 (select
          (i32.add (local.get $img1) (i32.add (i32.mul (i32.add (local.get $h1) (local.get $i)) (local.get $rowBytes)) (i32.mul (i32.add (local.get $w1) (local.get $j)) (local.get $pixelBytes))))
          (local.get $zeros)
          (i32.and (i32.lt_u (i32.add (local.get $h1) (local.get $i)) (local.get $H)) (i32.lt_u (i32.add (local.get $w1) (local.get $j)) (local.get $W)))))
        (local.set $s2 (select
          (i32.add (local.get $img2) (i32.add (i32.mul (i32.add (local.get $h2) (local.get $i)) (local.get $rowBytes)) (i32.mul (i32.add (local.get $w2) (local.get $j)) (local.get $pixelBytes))))
          (local.get $zeros)
          (i32.and (i32.lt_u (i32.add (local.get $h2) (local.get $i)) (local.get $H)) (i32.lt_u (i32.add (local.get $w2) (local.get $j)) (local.get $W)))))
        (local.set $s3 (select
          (i32.add (local.get $img3) (i32.add (i32.mul (i32.add (local.get $h3) (local.get $i)) (local.get $rowBytes)) (i32.mul (i32.add (local.get $w3) (local.get $j)) (local.get $pixelBytes))))
          (local.get $zeros)
          (i32.and (i32.lt_u (i32.add (local.get $h3) (local.get $i)) (local.get $H)) (i32.lt_u (i32.add (local.get $w3) (local.get $j)) (local.get $W)))))
        (local.set $ci (i32.const 0))
        (block $cdone (loop $cloop
          (br_if $cdone (i32.ge_u (local.get $ci) (local.get $pixelBytes)))
          (local.set $v0 (v128.load (i32.add (local.get $s0) (local.get $ci))))
          (local.set $v1 (v128.load (i32.add (local.get $s1) (local.get $ci))))
          (local.set $v2 (v128.load (i32.add (local.get $s2) (local.get $ci))))
          (local.set $v3 (v128.load (i32.add (local.get $s3) (local.get $ci))))
          ;; 4 x 4 transpose: step c of the block holds channel c of the four positions
          (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
          (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
          (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
          (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
          (local.set $q (i32.add (local.get $d) (i32.shl (local.get $ci) (i32.const 2))))
          (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
          (v128.store offset=16 (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
          (v128.store offset=32 (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
          (v128.store offset=48 (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
          (local.set $ci (i32.add (local.get $ci) (i32.const 16)))
          (br $cloop)))
        ;; next tap: C steps of 16 bytes further
        (local.set $d (i32.add (local.get $d) (i32.shl (local.get $C) (i32.const 4))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (if (i32.eq (local.get $j) (local.get $KW)) (then
          (local.set $j (i32.const 0))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (br $tloop)))
      (local.set $dst (i32.add (local.get $dst) (local.get $blockBytes)))
      (local.set $b (i32.add (local.get $b) (i32.const 4)))
      (br $bloop))))

  ;; The convolution on any number of threads: each packs all of w (K = KH KW C steps by Cout columns
  ;; in panels of 8, in K blocks of whole taps), then claims $chunk positions (a multiple of 4) at a
  ;; time from the i32 at $counter (0 at the start) and computes their outputs over all of K, so each
  ;; output is summed in the same order whichever thread takes it. $bias: Cout floats or 0 for none.
  ;; $work: convForwardWorkFloats (wasmConv2D.ts) floats: packed w, packed patches of one chunk by one
  ;; K block, a 4 x 8 tile, C zeros.
  (func $convForward (export "convForward") (param $x i32) (param $w i32) (param $bias i32) (param $y i32) (param $desc i32)
      (param $relu i32) (param $chunk i32) (param $counter i32) (param $work i32)
    (local $C i32) (local $Cout i32) (local $taps i32) (local $tapsPerBlock i32) (local $K i32) (local $N8 i32) (local $P i32)
    (local $packW i32) (local $packA i32) (local $tile i32) (local $zeros i32)
    (local $t0 i32) (local $t1 i32) (local $k0 i32) (local $kc i32) (local $p0 i32) (local $rows i32)
    (local $rb i32) (local $q i32) (local $ldcb i32) (local $i i32) (local $p i32) (local $v v128) (local $zero v128)
    (local.set $C (i32.load offset=12 (local.get $desc)))
    (local.set $Cout (i32.load offset=48 (local.get $desc)))
    (local.set $taps (i32.mul (i32.load offset=24 (local.get $desc)) (i32.load offset=28 (local.get $desc))))
    (local.set $P (i32.mul (i32.load (local.get $desc)) (i32.mul (i32.load offset=16 (local.get $desc)) (i32.load offset=20 (local.get $desc)))))
    (local.set $K (i32.mul (local.get $taps) (local.get $C)))
    (local.set $N8 (i32.and (i32.add (local.get $Cout) (i32.const 7)) (i32.const -8)))
    ;; K blocks of whole taps, about 384 steps (a block of w's panel stays in L1)
    (local.set $tapsPerBlock (i32.div_u (i32.const 384) (local.get $C)))
    (if (i32.eqz (local.get $tapsPerBlock)) (then (local.set $tapsPerBlock (i32.const 1))))
    (local.set $ldcb (i32.shl (local.get $Cout) (i32.const 2)))
    (local.set $packW (local.get $work))
    (local.set $packA (i32.add (local.get $packW) (i32.shl (i32.mul (local.get $K) (local.get $N8)) (i32.const 2))))
    (local.set $tile (i32.add (local.get $packA)
      (i32.shl (i32.mul (i32.and (i32.add (local.get $chunk) (i32.const 3)) (i32.const -4)) (i32.mul (local.get $tapsPerBlock) (local.get $C))) (i32.const 2))))
    (local.set $zeros (i32.add (local.get $tile) (i32.const 128)))
    (memory.fill (local.get $zeros) (i32.const 0) (i32.shl (local.get $C) (i32.const 2)))
    ;; w's columns are the rows packed, K block by K block (block k0 at k0 N8 floats)
    (local.set $t0 (i32.const 0))
    (block $wdone (loop $wloop
      (br_if $wdone (i32.ge_s (local.get $t0) (local.get $taps)))
      (local.set $t1 (select (i32.add (local.get $t0) (local.get $tapsPerBlock)) (local.get $taps)
        (i32.le_s (i32.add (local.get $t0) (local.get $tapsPerBlock)) (local.get $taps))))
      (local.set $k0 (i32.mul (local.get $t0) (local.get $C)))
      (call $gemmPack (local.get $w) (i32.const 1) (local.get $Cout) (i32.const 0) (local.get $Cout)
        (local.get $k0) (i32.mul (i32.sub (local.get $t1) (local.get $t0)) (local.get $C)) (i32.const 8)
        (i32.add (local.get $packW) (i32.shl (i32.mul (local.get $k0) (local.get $N8)) (i32.const 2))))
      (local.set $t0 (local.get $t1))
      (br $wloop)))
    (block $claimed (loop $claim
      (local.set $p0 (i32.atomic.rmw.add (local.get $counter) (local.get $chunk)))
      (br_if $claimed (i32.ge_s (local.get $p0) (local.get $P)))
      (local.set $rows (select (local.get $chunk) (i32.sub (local.get $P) (local.get $p0))
        (i32.le_s (i32.add (local.get $p0) (local.get $chunk)) (local.get $P))))
      (local.set $t0 (i32.const 0))
      (block $kdone (loop $kloop
        (br_if $kdone (i32.ge_s (local.get $t0) (local.get $taps)))
        (local.set $t1 (select (i32.add (local.get $t0) (local.get $tapsPerBlock)) (local.get $taps)
          (i32.le_s (i32.add (local.get $t0) (local.get $tapsPerBlock)) (local.get $taps))))
        (local.set $k0 (i32.mul (local.get $t0) (local.get $C)))
        (local.set $kc (i32.mul (i32.sub (local.get $t1) (local.get $t0)) (local.get $C)))
        (call $convPatchPack (local.get $x) (local.get $desc) (local.get $p0) (local.get $rows) (local.get $t0) (local.get $t1)
          (local.get $zeros) (local.get $packA))
        ;; every block of 4 positions across every panel of 8 columns: y (+)= patches w
        (local.set $rb (i32.const 0))
        (block $rdone (loop $rloop
          (br_if $rdone (i32.ge_s (local.get $rb) (local.get $rows)))
          (local.set $q (i32.const 0))
          (block $qdone (loop $qloop
            (br_if $qdone (i32.ge_s (local.get $q) (local.get $Cout)))
            (call $gemmTile (local.get $kc)
              (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $rb) (local.get $kc)) (i32.const 2)))
              (i32.add (local.get $packW) (i32.shl (i32.add (i32.mul (local.get $k0) (local.get $N8)) (i32.mul (local.get $q) (local.get $kc))) (i32.const 2)))
              (i32.add (local.get $y) (i32.add (i32.mul (i32.add (local.get $p0) (local.get $rb)) (local.get $ldcb)) (i32.shl (local.get $q) (i32.const 2))))
              (local.get $ldcb)
              (select (i32.const 4) (i32.sub (local.get $rows) (local.get $rb)) (i32.le_s (i32.add (local.get $rb) (i32.const 4)) (local.get $rows)))
              (select (i32.const 8) (i32.sub (local.get $Cout) (local.get $q)) (i32.le_s (i32.add (local.get $q) (i32.const 8)) (local.get $Cout)))
              (local.get $k0) (local.get $tile))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (br $qloop)))
          (local.set $rb (i32.add (local.get $rb) (i32.const 4)))
          (br $rloop)))
        (local.set $t0 (local.get $t1))
        (br $kloop)))
      ;; the chunk's epilogue: bias, then ReLU, over its rows x Cout outputs (contiguous)
      (if (i32.or (local.get $bias) (local.get $relu)) (then
        (local.set $i (i32.const 0))
        (local.set $p (i32.add (local.get $y) (i32.mul (local.get $p0) (local.get $ldcb))))
        (block $edone (loop $eloop
          (br_if $edone (i32.ge_s (local.get $i) (i32.mul (local.get $rows) (local.get $Cout))))
          (local.set $q (i32.rem_u (local.get $i) (local.get $Cout)))
          (if (i32.le_s (i32.add (local.get $q) (i32.const 4)) (local.get $Cout))
            (then
              (local.set $v (v128.load (local.get $p)))
              (if (local.get $bias) (then
                (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $bias) (i32.shl (local.get $q) (i32.const 2))))))))
              (if (local.get $relu) (then (local.set $v (f32x4.max (local.get $v) (local.get $zero)))))
              (v128.store (local.get $p) (local.get $v))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (local.set $i (i32.add (local.get $i) (i32.const 4))))
            (else
              (if (local.get $bias) (then
                (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32.load (i32.add (local.get $bias) (i32.shl (local.get $q) (i32.const 2))))))))
              (if (local.get $relu) (then (f32.store (local.get $p) (f32.max (f32.load (local.get $p)) (f32.const 0)))))
              (local.set $p (i32.add (local.get $p) (i32.const 4)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))))
          (br $eloop)))))
      (br $claim))))
