(module
  ;; Kernels that run in the memory of tfjs-backend-wasm itself, on its tensors' bytes: the memory is
  ;; imported (shared when the backend is the threaded build: the assembler also emits that variant).
  ;; Pointers are byte offsets; sizes count float32 elements.
  (import "env" "memory" (memory 1))

  ;; dst = src^T for a row-major rows x cols matrix (4-byte elements): 4x4 tiles transposed in
  ;; registers, walked in 32x32 blocks so that reads and writes both stay in cache. Edges scalar.
  (func $transpose (export "transpose") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $i0 i32) (local $j0 i32) (local $i1 i32) (local $j1 i32) (local $i i32) (local $j i32)
    (local $rows4 i32) (local $cols4 i32) (local $sstride i32) (local $dstride i32) (local $p i32) (local $q i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $sstride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $dstride (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    ;; the 4-aligned part, block by block
    (local.set $i0 (i32.const 0))
    (block $idone (loop $iloop
      (br_if $idone (i32.ge_u (local.get $i0) (local.get $rows4)))
      (local.set $i1 (select (i32.add (local.get $i0) (i32.const 32)) (local.get $rows4)
        (i32.lt_u (i32.add (local.get $i0) (i32.const 32)) (local.get $rows4))))
      (local.set $j0 (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j0) (local.get $cols4)))
        (local.set $j1 (select (i32.add (local.get $j0) (i32.const 32)) (local.get $cols4)
          (i32.lt_u (i32.add (local.get $j0) (i32.const 32)) (local.get $cols4))))
        (local.set $i (local.get $i0))
        (block $tidone (loop $tiloop
          (br_if $tidone (i32.ge_u (local.get $i) (local.get $i1)))
          (local.set $j (local.get $j0))
          (block $tjdone (loop $tjloop
            (br_if $tjdone (i32.ge_u (local.get $j) (local.get $j1)))
            ;; p = &src[i][j], q = &dst[j][i]
            (local.set $p (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
            (local.set $q (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
            (local.set $r0 (v128.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (local.get $sstride)))
            (local.set $r1 (v128.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (local.get $sstride)))
            (local.set $r2 (v128.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (local.get $sstride)))
            (local.set $r3 (v128.load (local.get $p)))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (local.set $q (i32.add (local.get $q) (local.get $dstride)))
            (v128.store (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (local.set $q (i32.add (local.get $q) (local.get $dstride)))
            (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (local.set $q (i32.add (local.get $q) (local.get $dstride)))
            (v128.store (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tjloop)))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $tiloop)))
        (local.set $j0 (local.get $j1))
        (br $jloop)))
      (local.set $i0 (local.get $i1))
      (br $iloop)))
    ;; the edges: rows past rows4 (all columns), then columns past cols4 (rows up to rows4)
    (local.set $i (local.get $rows4))
    (block $edone (loop $eloop
      (br_if $edone (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $ejdone (loop $ejloop
        (br_if $ejdone (i32.ge_u (local.get $j) (local.get $cols)))
        (i32.store
          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2)))
          (i32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $ejloop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $eloop)))
    (local.set $i (i32.const 0))
    (block $fdone (loop $floop
      (br_if $fdone (i32.ge_u (local.get $i) (local.get $rows4)))
      (local.set $j (local.get $cols4))
      (block $fjdone (loop $fjloop
        (br_if $fjdone (i32.ge_u (local.get $j) (local.get $cols)))
        (i32.store
          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2)))
          (i32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $fjloop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $floop))))

  ;; dst[j] = (sum_i src[i][j]) / divisor over a row-major rows x cols float32 matrix, rows in order
  ;; (divisor 1 for a sum, which then is exact; the row count for a mean).
  (func $sumColumns (export "sumColumns") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $divisor f32)
    (local $i i32) (local $j i32) (local $cols4 i32) (local $row i32) (local $acc v128) (local $s f32) (local $p i32)
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $j (i32.const 0))
    (block $jdone (loop $jloop
      (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols4)))
      (local.set $acc (v128.const f32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $i (local.get $rows))
      (block $idone (loop $iloop
        (br_if $idone (i32.eqz (local.get $i)))
        (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $iloop)))
      (v128.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (f32x4.div (local.get $acc) (f32x4.splat (local.get $divisor))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $jloop)))
    (block $tdone (loop $tloop
      (br_if $tdone (i32.ge_u (local.get $j) (local.get $cols)))
      (local.set $s (f32.const 0))
      (local.set $p (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $i (local.get $rows))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.eqz (local.get $i)))
        (local.set $s (f32.add (local.get $s) (f32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $sloop)))
      (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (f32.div (local.get $s) (local.get $divisor)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $tloop))))

  ;; The gradient of a max pool over NHWC float32 tensors: dx is zeroed, then each output position's
  ;; dy goes to the first maximum of its window (row-major order, strictly greater, as the cpu
  ;; backend picks it); a window with no value above -infinity (all NaN) passes nothing.
  ;; Windows start at (oh * strideH - padTop, ow * strideW - padLeft) and are clipped to the input.
  (func $maxPoolGrad (export "maxPoolGrad") (param $x i32) (param $dy i32) (param $dx i32)
      (param $batch i32) (param $inH i32) (param $inW i32) (param $channels i32) (param $outH i32) (param $outW i32)
      (param $filterH i32) (param $filterW i32) (param $strideH i32) (param $strideW i32) (param $padTop i32) (param $padLeft i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $c i32) (local $r i32) (local $col i32)
    (local $r0 i32) (local $r1 i32) (local $c0 i32) (local $c1 i32)
    (local $image i32) (local $best f32) (local $at i32) (local $v f32) (local $p i32) (local $q i32) (local $g i32)
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (local.get $batch) (i32.mul (local.get $inH) (local.get $inW))) (local.get $channels)) (i32.const 2)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $batch)))
      ;; element offset of image b
      (local.set $image (i32.mul (local.get $b) (i32.mul (i32.mul (local.get $inH) (local.get $inW)) (local.get $channels))))
      (local.set $oh (i32.const 0))
      (block $hdone (loop $hloop
        (br_if $hdone (i32.ge_s (local.get $oh) (local.get $outH)))
        (local.set $r0 (i32.sub (i32.mul (local.get $oh) (local.get $strideH)) (local.get $padTop)))
        (local.set $r1 (i32.add (local.get $r0) (local.get $filterH)))
        (if (i32.lt_s (local.get $r0) (i32.const 0)) (then (local.set $r0 (i32.const 0))))
        (if (i32.gt_s (local.get $r1) (local.get $inH)) (then (local.set $r1 (local.get $inH))))
        (local.set $ow (i32.const 0))
        (block $wdone (loop $wloop
          (br_if $wdone (i32.ge_s (local.get $ow) (local.get $outW)))
          (local.set $c0 (i32.sub (i32.mul (local.get $ow) (local.get $strideW)) (local.get $padLeft)))
          (local.set $c1 (i32.add (local.get $c0) (local.get $filterW)))
          (if (i32.lt_s (local.get $c0) (i32.const 0)) (then (local.set $c0 (i32.const 0))))
          (if (i32.gt_s (local.get $c1) (local.get $inW)) (then (local.set $c1 (local.get $inW))))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_s (local.get $c) (local.get $channels)))
            (local.set $best (f32.const -inf))
            (local.set $at (i32.const -1))
            (local.set $r (local.get $r0))
            (block $rdone (loop $rloop
              (br_if $rdone (i32.ge_s (local.get $r) (local.get $r1)))
              (local.set $col (local.get $c0))
              (block $kdone (loop $kloop
                (br_if $kdone (i32.ge_s (local.get $col) (local.get $c1)))
                ;; p = element offset of x[b, r, col, c]
                (local.set $p (i32.add (local.get $image)
                  (i32.add (i32.mul (i32.add (i32.mul (local.get $r) (local.get $inW)) (local.get $col)) (local.get $channels)) (local.get $c))))
                (local.set $v (f32.load (i32.add (local.get $x) (i32.shl (local.get $p) (i32.const 2)))))
                (if (f32.gt (local.get $v) (local.get $best))
                  (then (local.set $best (local.get $v)) (local.set $at (local.get $p))))
                (local.set $col (i32.add (local.get $col) (i32.const 1)))
                (br $kloop)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $rloop)))
            (if (i32.ge_s (local.get $at) (i32.const 0))
              (then
                (local.set $q (i32.add (local.get $dx) (i32.shl (local.get $at) (i32.const 2))))
                (f32.store (local.get $q) (f32.add (f32.load (local.get $q)) (f32.load (local.get $g))))))
            (local.set $g (i32.add (local.get $g) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $wloop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $hloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop))))

  ;; maxPoolGrad for 2x2 windows with stride 2 that lie wholly inside the input and channels a
  ;; multiple of 4: windows do not overlap, so each input position takes dy or 0 from exactly one
  ;; window, four channels at a time (same first-maximum rule). Positions outside every window
  ;; (an odd last row or column) are zeroed first.
  (func $maxPoolGrad2x2 (export "maxPoolGrad2x2") (param $x i32) (param $dy i32) (param $dx i32)
      (param $batch i32) (param $inH i32) (param $inW i32) (param $channels i32) (param $outH i32) (param $outW i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $c i32)
    (local $row i32) (local $down i32) (local $right i32) (local $p i32) (local $g i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $best v128) (local $at v128)
    (local $gt v128) (local $grad v128) (local $zero v128)
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (local.get $batch) (i32.mul (local.get $inH) (local.get $inW))) (local.get $channels)) (i32.const 2)))
    (local.set $zero (v128.const i32x4 0 0 0 0))
    ;; byte distances to the window's right and lower neighbours
    (local.set $right (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $down (i32.shl (i32.mul (local.get $inW) (local.get $channels)) (i32.const 2)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $oh (i32.const 0))
      (block $hdone (loop $hloop
        (br_if $hdone (i32.ge_u (local.get $oh) (local.get $outH)))
        ;; byte offset of row 2*oh of image b
        (local.set $row (i32.shl (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (i32.shl (local.get $oh) (i32.const 1)))
          (i32.mul (local.get $inW) (local.get $channels))) (i32.const 2)))
        (local.set $ow (i32.const 0))
        (block $wdone (loop $wloop
          (br_if $wdone (i32.ge_u (local.get $ow) (local.get $outW)))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $channels)))
            ;; p = byte offset of x[b, 2oh, 2ow, c]
            (local.set $p (i32.add (local.get $row)
              (i32.shl (i32.add (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $channels)) (local.get $c)) (i32.const 2))))
            (local.set $v0 (v128.load (i32.add (local.get $x) (local.get $p))))
            (local.set $v1 (v128.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $right))))
            (local.set $v2 (v128.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $down))))
            (local.set $v3 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $down)) (local.get $right))))
            ;; first maximum, row-major: start below every value, replace on strictly greater
            (local.set $best (f32x4.splat (f32.const -inf)))
            (local.set $at (v128.const i32x4 -1 -1 -1 -1))
            (local.set $gt (f32x4.gt (local.get $v0) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v0) (local.get $best) (local.get $gt)))
            (local.set $at (v128.bitselect (v128.const i32x4 0 0 0 0) (local.get $at) (local.get $gt)))
            (local.set $gt (f32x4.gt (local.get $v1) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v1) (local.get $best) (local.get $gt)))
            (local.set $at (v128.bitselect (v128.const i32x4 1 1 1 1) (local.get $at) (local.get $gt)))
            (local.set $gt (f32x4.gt (local.get $v2) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v2) (local.get $best) (local.get $gt)))
            (local.set $at (v128.bitselect (v128.const i32x4 2 2 2 2) (local.get $at) (local.get $gt)))
            (local.set $gt (f32x4.gt (local.get $v3) (local.get $best)))
            (local.set $at (v128.bitselect (v128.const i32x4 3 3 3 3) (local.get $at) (local.get $gt)))
            (local.set $grad (v128.load (local.get $g)))
            (v128.store (i32.add (local.get $dx) (local.get $p))
              (v128.bitselect (local.get $grad) (local.get $zero) (i32x4.eq (local.get $at) (v128.const i32x4 0 0 0 0))))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $right))
              (v128.bitselect (local.get $grad) (local.get $zero) (i32x4.eq (local.get $at) (v128.const i32x4 1 1 1 1))))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $down))
              (v128.bitselect (local.get $grad) (local.get $zero) (i32x4.eq (local.get $at) (v128.const i32x4 2 2 2 2))))
            (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $down)) (local.get $right))
              (v128.bitselect (local.get $grad) (local.get $zero) (i32x4.eq (local.get $at) (v128.const i32x4 3 3 3 3))))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cloop)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $wloop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $hloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop))))

  ;; SGD with momentum, as tfjs's MomentumOptimizer computes it (same float32 operations, same
  ;; order): acc' = momentum * acc + grad; value' = value + (-rate) * acc'. Outputs may alias inputs.
  (func $momentum (export "momentum") (param $value i32) (param $acc i32) (param $grad i32)
      (param $outValue i32) (param $outAcc i32) (param $n i32) (param $momentum f32) (param $negRate f32)
    (local $k i32) (local $n4 i32) (local $m v128) (local $c v128) (local $a v128) (local $off i32) (local $s f32)
    (local.set $m (f32x4.splat (local.get $momentum)))
    (local.set $c (f32x4.splat (local.get $negRate)))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $off (i32.const 0))
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $off) (local.get $n4)))
      (local.set $a (f32x4.add (f32x4.mul (local.get $m) (v128.load (i32.add (local.get $acc) (local.get $off))))
                               (v128.load (i32.add (local.get $grad) (local.get $off)))))
      (v128.store (i32.add (local.get $outValue) (local.get $off))
        (f32x4.add (f32x4.mul (local.get $c) (local.get $a)) (v128.load (i32.add (local.get $value) (local.get $off)))))
      (v128.store (i32.add (local.get $outAcc) (local.get $off)) (local.get $a))
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (br $loop)))
    (local.set $n4 (i32.shl (local.get $n) (i32.const 2)))
    (block $tdone (loop $tloop
      (br_if $tdone (i32.ge_u (local.get $off) (local.get $n4)))
      (local.set $s (f32.add (f32.mul (local.get $momentum) (f32.load (i32.add (local.get $acc) (local.get $off))))
                             (f32.load (i32.add (local.get $grad) (local.get $off)))))
      (f32.store (i32.add (local.get $outValue) (local.get $off))
        (f32.add (f32.mul (local.get $negRate) (local.get $s)) (f32.load (i32.add (local.get $value) (local.get $off)))))
      (f32.store (i32.add (local.get $outAcc) (local.get $off)) (local.get $s))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (br $tloop))))

  ;; out = max(x, 0) over n floats (ReLU; NaN stays NaN, as in tfjs); out may be x.
  (func $relu (export "relu") (param $x i32) (param $out i32) (param $n i32)
    (local $off i32) (local $end4 i32) (local $end i32) (local $zero v128)
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $off) (local.get $end4)))
      (v128.store (i32.add (local.get $out) (local.get $off)) (f32x4.max (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $zero)))
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (br $loop)))
    (block $tdone (loop $tloop
      (br_if $tdone (i32.ge_u (local.get $off) (local.get $end)))
      (f32.store (i32.add (local.get $out) (local.get $off)) (f32.max (f32.load (i32.add (local.get $x) (local.get $off))) (f32.const 0)))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (br $tloop))))

  ;; out[i][j] = x[i][j] op v[j] for a row-major rows x cols float32 matrix x and a vector v over its
  ;; columns (a bias or per-channel scale), op 0: x + v, 1: x - v, 2: v - x, 3: x * v; out may be x.
  (func $rowVectorOp (export "rowVectorOp") (param $x i32) (param $v i32) (param $out i32) (param $rows i32) (param $cols i32) (param $op i32)
    (local $i i32) (local $j i32) (local $cols4 i32) (local $row i32) (local $off i32) (local $a v128) (local $b v128) (local $s f32) (local $t f32)
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (block $idone (loop $iloop
      (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $row (i32.shl (i32.mul (local.get $i) (local.get $cols)) (i32.const 2)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols4)))
        (local.set $off (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $off))))
        (local.set $b (v128.load (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 2)))))
        (v128.store (i32.add (local.get $out) (local.get $off))
          (if (result v128) (i32.eqz (local.get $op)) (then (f32x4.add (local.get $a) (local.get $b)))
            (else (if (result v128) (i32.eq (local.get $op) (i32.const 1)) (then (f32x4.sub (local.get $a) (local.get $b)))
              (else (if (result v128) (i32.eq (local.get $op) (i32.const 2)) (then (f32x4.sub (local.get $b) (local.get $a)))
                (else (f32x4.mul (local.get $a) (local.get $b)))))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $jloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $off (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $off))))
        (local.set $t (f32.load (i32.add (local.get $v) (i32.shl (local.get $j) (i32.const 2)))))
        (f32.store (i32.add (local.get $out) (local.get $off))
          (if (result f32) (i32.eqz (local.get $op)) (then (f32.add (local.get $s) (local.get $t)))
            (else (if (result f32) (i32.eq (local.get $op) (i32.const 1)) (then (f32.sub (local.get $s) (local.get $t)))
              (else (if (result f32) (i32.eq (local.get $op) (i32.const 2)) (then (f32.sub (local.get $t) (local.get $s)))
                (else (f32.mul (local.get $s) (local.get $t)))))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $tloop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $iloop))))

  ;; ---- Matrix product (GEMM) --------------------------------------------------------------------
  ;; C = A B in float32, as BLIS-style loops: K in blocks of at most 384, A packed in blocks of 4 rows
  ;; and B in panels of 8 columns (zero past the edges) so that the 4x8 register kernel reads both
  ;; contiguously; transposed operands cost nothing extra, being only other strides while packing.

  ;; C tile (rows x cols, at most 4 x 8; row stride ldc bytes) = (or += when $acc) packed A (kc
  ;; steps of 4 floats) times packed B (kc steps of 8 floats). Partial tiles go through $tile.
  (func $gemmTile (param $kc i32) (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32)
      (param $rows i32) (param $cols i32) (param $acc i32) (param $tile i32)
    (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $p i32) (local $i i32) (local $j i32)
    (block $done (loop $k
      (br_if $done (i32.eqz (local.get $kc)))
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $a (v128.load32_splat (local.get $pa)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (local.set $kc (i32.sub (local.get $kc) (i32.const 1)))
      (br $k)))
    (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $cols) (i32.const 8)))
      (then
        (if (local.get $acc) (then
          (local.set $p (local.get $c))
          (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $p))))
          (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $p))))
          (local.set $p (i32.add (local.get $p) (local.get $ldc)))
          (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $p))))
          (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $p))))
          (local.set $p (i32.add (local.get $p) (local.get $ldc)))
          (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $p))))
          (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $p))))
          (local.set $p (i32.add (local.get $p) (local.get $ldc)))
          (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $p))))
          (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $p))))))
        (local.set $p (local.get $c))
        (v128.store (local.get $p) (local.get $c00))
        (v128.store offset=16 (local.get $p) (local.get $c01))
        (local.set $p (i32.add (local.get $p) (local.get $ldc)))
        (v128.store (local.get $p) (local.get $c10))
        (v128.store offset=16 (local.get $p) (local.get $c11))
        (local.set $p (i32.add (local.get $p) (local.get $ldc)))
        (v128.store (local.get $p) (local.get $c20))
        (v128.store offset=16 (local.get $p) (local.get $c21))
        (local.set $p (i32.add (local.get $p) (local.get $ldc)))
        (v128.store (local.get $p) (local.get $c30))
        (v128.store offset=16 (local.get $p) (local.get $c31)))
      (else
        (v128.store offset=0 (local.get $tile) (local.get $c00))
        (v128.store offset=16 (local.get $tile) (local.get $c01))
        (v128.store offset=32 (local.get $tile) (local.get $c10))
        (v128.store offset=48 (local.get $tile) (local.get $c11))
        (v128.store offset=64 (local.get $tile) (local.get $c20))
        (v128.store offset=80 (local.get $tile) (local.get $c21))
        (v128.store offset=96 (local.get $tile) (local.get $c30))
        (v128.store offset=112 (local.get $tile) (local.get $c31))
        (local.set $i (i32.const 0))
        (block $idone (loop $iloop
          (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
          (local.set $j (i32.const 0))
          (block $jdone (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $p (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 2))))
            (f32.store (local.get $p)
              (f32.add
                (f32.load (i32.add (local.get $tile) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2))))
                (select (f32.load (local.get $p)) (f32.const 0) (local.get $acc))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jloop)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $iloop))))))

  ;; Packs rows [i0, i1) by steps [k0, k0 + kc) of a matrix whose (row, step) element is at
  ;; src + 4 (row rs + step cs) into blocks of $width rows: dst[block][step][r], zero past i1.
  (func $gemmPack (param $src i32) (param $rs i32) (param $cs i32) (param $i0 i32) (param $i1 i32)
      (param $k0 i32) (param $kc i32) (param $width i32) (param $dst i32)
    (local $row i32) (local $live i32) (local $r i32) (local $k i32) (local $s i32) (local $d i32)
    (local $step i32) (local $dstep i32)
    (local.set $dstep (i32.shl (local.get $width) (i32.const 2)))
    (local.set $row (local.get $i0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_s (local.get $row) (local.get $i1)))
      (local.set $live (select (local.get $width) (i32.sub (local.get $i1) (local.get $row))
        (i32.le_s (i32.add (local.get $row) (local.get $width)) (local.get $i1))))
      (if (i32.eq (local.get $rs) (i32.const 1))
        (then
          ;; the block's rows are adjacent in memory: step by step, copy $live adjacent floats
          (local.set $s (i32.shl (i32.add (local.get $row) (i32.mul (local.get $k0) (local.get $cs))) (i32.const 2)))
          (local.set $s (i32.add (local.get $src) (local.get $s)))
          (local.set $step (i32.shl (local.get $cs) (i32.const 2)))
          (local.set $d (local.get $dst))
          (local.set $k (local.get $kc))
          (block $kdone (loop $kloop
            (br_if $kdone (i32.eqz (local.get $k)))
            (if (i32.eq (local.get $live) (i32.const 8))
              (then
                (v128.store (local.get $d) (v128.load (local.get $s)))
                (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $s))))
              (else (if (i32.eq (local.get $live) (i32.const 4))
                (then (v128.store (local.get $d) (v128.load (local.get $s))))
                (else
                  (local.set $r (i32.const 0))
                  (block $rdone (loop $rloop
                    (br_if $rdone (i32.ge_u (local.get $r) (local.get $width)))
                    (f32.store (i32.add (local.get $d) (i32.shl (local.get $r) (i32.const 2)))
                      (if (result f32) (i32.lt_u (local.get $r) (local.get $live))
                        (then (f32.load (i32.add (local.get $s) (i32.shl (local.get $r) (i32.const 2)))))
                        (else (f32.const 0))))
                    (local.set $r (i32.add (local.get $r) (i32.const 1)))
                    (br $rloop)))))))
            (local.set $s (i32.add (local.get $s) (local.get $step)))
            (local.set $d (i32.add (local.get $d) (local.get $dstep)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $kloop))))
        (else
          ;; otherwise row by row, each read along its steps
          (local.set $step (i32.shl (local.get $cs) (i32.const 2)))
          (local.set $r (i32.const 0))
          (block $rdone2 (loop $rloop2
            (br_if $rdone2 (i32.ge_u (local.get $r) (local.get $width)))
            (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
            (local.set $k (local.get $kc))
            (if (i32.lt_u (local.get $r) (local.get $live))
              (then
                (local.set $s (i32.add (local.get $src)
                  (i32.shl (i32.add (i32.mul (i32.add (local.get $row) (local.get $r)) (local.get $rs)) (i32.mul (local.get $k0) (local.get $cs))) (i32.const 2))))
                (block $cdone (loop $cloop
                  (br_if $cdone (i32.eqz (local.get $k)))
                  (f32.store (local.get $d) (f32.load (local.get $s)))
                  (local.set $s (i32.add (local.get $s) (local.get $step)))
                  (local.set $d (i32.add (local.get $d) (local.get $dstep)))
                  (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                  (br $cloop))))
              (else
                (block $zdone (loop $zloop
                  (br_if $zdone (i32.eqz (local.get $k)))
                  (f32.store (local.get $d) (f32.const 0))
                  (local.set $d (i32.add (local.get $d) (local.get $dstep)))
                  (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                  (br $zloop)))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rloop2)))))
      (local.set $dst (i32.add (local.get $dst) (i32.mul (local.get $kc) (local.get $dstep))))
      (local.set $row (i32.add (local.get $row) (local.get $width)))
      (br $bloop))))

  ;; C = A B (+ bias, then ReLU when $relu): C row-major M x N with row stride ldc floats; A's (i, k)
  ;; element at a + 4 (i rsA + k csA), B's (k, j) at b + 4 (k rsB + j csB); bias (N floats) 0 for
  ;; none. Threads share the work by columns: each packs all of A once, then claims $chunk columns
  ;; at a time (a multiple of 8) from the i32 at $counter (the next free column; 0 at the start)
  ;; until none are left, and computes them over all of K, so each output is summed in the same
  ;; order whichever thread takes it. $work: scratch of gemmWorkFloats(M, K, chunk) floats (see
  ;; heapGemm.ts): packed A (M rounded up to 4, by K), packed B (384 x chunk), one 4 x 8 tile.
  (func $gemm (export "gemm") (param $a i32) (param $rsA i32) (param $csA i32) (param $b i32) (param $rsB i32) (param $csB i32)
      (param $c i32) (param $ldc i32) (param $M i32) (param $K i32) (param $N i32) (param $chunk i32) (param $counter i32)
      (param $bias i32) (param $relu i32) (param $work i32)
    (local $packA i32) (local $packB i32) (local $tile i32) (local $rows4 i32) (local $blocks i32) (local $kcMax i32)
    (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32) (local $jr i32) (local $ir i32)
    (local $j0 i32) (local $j1 i32) (local $width i32) (local $ldcb i32) (local $p i32) (local $bv v128) (local $zero v128)
    (local.set $ldcb (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $rows4 (i32.and (i32.add (local.get $M) (i32.const 3)) (i32.const -4)))
    (local.set $packA (local.get $work))
    (local.set $packB (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $rows4) (local.get $K)) (i32.const 2))))
    (local.set $tile (i32.add (local.get $packB) (i32.shl (i32.mul (i32.const 384) (local.get $chunk)) (i32.const 2))))
    ;; K in equal blocks of at most 384 steps (a block of B's panel, 12 KiB, stays in L1)
    (local.set $blocks (i32.div_u (i32.add (local.get $K) (i32.const 383)) (i32.const 384)))
    (local.set $kcMax (i32.div_u (i32.add (local.get $K) (i32.sub (local.get $blocks) (i32.const 1))) (local.get $blocks)))
    ;; all of A, K block by K block (block pc at rows4 x pc floats), in blocks of 4 rows
    (local.set $pc (i32.const 0))
    (block $adone (loop $aloop
      (br_if $adone (i32.ge_s (local.get $pc) (local.get $K)))
      (local.set $kc (select (local.get $kcMax) (i32.sub (local.get $K) (local.get $pc))
        (i32.le_s (i32.add (local.get $pc) (local.get $kcMax)) (local.get $K))))
      (call $gemmPack (local.get $a) (local.get $rsA) (local.get $csA) (i32.const 0) (local.get $M)
        (local.get $pc) (local.get $kc) (i32.const 4)
        (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $rows4) (local.get $pc)) (i32.const 2))))
      (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
      (br $aloop)))
    (block $claimed (loop $claim
      (local.set $j0 (i32.atomic.rmw.add (local.get $counter) (local.get $chunk)))
      (br_if $claimed (i32.ge_s (local.get $j0) (local.get $N)))
      (local.set $j1 (select (i32.add (local.get $j0) (local.get $chunk)) (local.get $N)
        (i32.le_s (i32.add (local.get $j0) (local.get $chunk)) (local.get $N))))
      (local.set $width (i32.sub (local.get $j1) (local.get $j0)))
      (local.set $pc (i32.const 0))
      (block $pdone (loop $ploop
        (br_if $pdone (i32.ge_s (local.get $pc) (local.get $K)))
        (local.set $kc (select (local.get $kcMax) (i32.sub (local.get $K) (local.get $pc))
          (i32.le_s (i32.add (local.get $pc) (local.get $kcMax)) (local.get $K))))
        ;; B's columns are the rows packed: panels of 8
        (call $gemmPack (local.get $b) (local.get $csB) (local.get $rsB) (local.get $j0) (local.get $j1)
          (local.get $pc) (local.get $kc) (i32.const 8) (local.get $packB))
        ;; rows in blocks of 128 (their packed A, 4 x kc floats a row block, stays in L2), each across the chunk's panels
        (local.set $ic (i32.const 0))
        (block $idone (loop $iloop
          (br_if $idone (i32.ge_s (local.get $ic) (local.get $M)))
          (local.set $mc (select (i32.const 128) (i32.sub (local.get $M) (local.get $ic))
            (i32.le_s (i32.add (local.get $ic) (i32.const 128)) (local.get $M))))
          (local.set $jr (i32.const 0))
          (block $jdone (loop $jloop
            (br_if $jdone (i32.ge_s (local.get $jr) (local.get $width)))
            (local.set $ir (local.get $ic))
            (block $rdone (loop $rloop
              (br_if $rdone (i32.ge_s (local.get $ir) (i32.add (local.get $ic) (local.get $mc))))
              (call $gemmTile (local.get $kc)
                (i32.add (local.get $packA) (i32.shl (i32.add (i32.mul (local.get $rows4) (local.get $pc)) (i32.mul (local.get $ir) (local.get $kc))) (i32.const 2)))
                (i32.add (local.get $packB) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2)))
                (i32.add (local.get $c) (i32.add (i32.mul (local.get $ir) (local.get $ldcb))
                  (i32.shl (i32.add (local.get $j0) (local.get $jr)) (i32.const 2))))
                (local.get $ldcb)
                (select (i32.const 4) (i32.sub (local.get $M) (local.get $ir)) (i32.le_s (i32.add (local.get $ir) (i32.const 4)) (local.get $M)))
                (select (i32.const 8) (i32.sub (local.get $width) (local.get $jr)) (i32.le_s (i32.add (local.get $jr) (i32.const 8)) (local.get $width)))
                (local.get $pc) (local.get $tile))
              (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
              (br $rloop)))
            (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
            (br $jloop)))
          (local.set $ic (i32.add (local.get $ic) (local.get $mc)))
          (br $iloop)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
        (br $ploop)))
      ;; the chunk's epilogue: bias, then ReLU
      (if (i32.or (local.get $bias) (local.get $relu)) (then
        (local.set $ic (i32.const 0))
        (block $edone (loop $eloop
          (br_if $edone (i32.ge_s (local.get $ic) (local.get $M)))
          (local.set $jr (local.get $j0))
          (block $fdone (loop $floop
            (br_if $fdone (i32.ge_s (local.get $jr) (local.get $j1)))
            (local.set $p (i32.add (local.get $c) (i32.add (i32.mul (local.get $ic) (local.get $ldcb)) (i32.shl (local.get $jr) (i32.const 2)))))
            (if (i32.le_s (i32.add (local.get $jr) (i32.const 4)) (local.get $j1))
              (then
                (local.set $bv (v128.load (local.get $p)))
                (if (local.get $bias) (then
                  (local.set $bv (f32x4.add (local.get $bv) (v128.load (i32.add (local.get $bias) (i32.shl (local.get $jr) (i32.const 2))))))))
                (if (local.get $relu) (then (local.set $bv (f32x4.max (local.get $bv) (local.get $zero)))))
                (v128.store (local.get $p) (local.get $bv))
                (local.set $jr (i32.add (local.get $jr) (i32.const 4))))
              (else
                (if (local.get $bias) (then
                  (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32.load (i32.add (local.get $bias) (i32.shl (local.get $jr) (i32.const 2))))))))
                (if (local.get $relu) (then (f32.store (local.get $p) (f32.max (f32.load (local.get $p)) (f32.const 0)))))
                (local.set $jr (i32.add (local.get $jr) (i32.const 1)))))
            (br $floop)))
          (local.set $ic (i32.add (local.get $ic) (i32.const 1)))
          (br $eloop)))))
      (br $claim))))

  ;; ---- Convolution filter gradient as a GEMM ----------------------------------------------------
  ;; dW[i, j, ci, co] = sum over positions p = (n, oh, ow) of x[n, oh sh + i - pt, ow sw + j - pl, ci]
  ;; dy[p, co] (0 outside x): C = A B with A = the patches of x (M = KH KW C rows, one step a
  ;; position), gathered from x while packing (no im2col matrix), and B = dy as [positions, Cout].
  ;; $desc points to 13 i32: N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, Cout (NHWC, HWIO).

  ;; Packs A's rows [0, M) (M = KH KW C) by positions [p0, p0 + kc) into blocks of 4 rows.
  (func $convPack (param $x i32) (param $desc i32) (param $p0 i32) (param $kc i32) (param $dst i32)
    (local $H i32) (local $W i32) (local $C i32) (local $OH i32) (local $OW i32) (local $KH i32) (local $KW i32)
    (local $SH i32) (local $SW i32) (local $PT i32) (local $PL i32) (local $M i32) (local $M4 i32)
    (local $n i32) (local $oh i32) (local $ow i32) (local $k i32) (local $i i32) (local $j i32) (local $ci i32) (local $r i32)
    (local $ih i32) (local $iw i32) (local $inside i32) (local $src i32) (local $blockBytes i32) (local $d i32) (local $t i32)
    (local.set $H (i32.load offset=4 (local.get $desc)))
    (local.set $W (i32.load offset=8 (local.get $desc)))
    (local.set $C (i32.load offset=12 (local.get $desc)))
    (local.set $OH (i32.load offset=16 (local.get $desc)))
    (local.set $OW (i32.load offset=20 (local.get $desc)))
    (local.set $KH (i32.load offset=24 (local.get $desc)))
    (local.set $KW (i32.load offset=28 (local.get $desc)))
    (local.set $SH (i32.load offset=32 (local.get $desc)))
    (local.set $SW (i32.load offset=36 (local.get $desc)))
    (local.set $PT (i32.load offset=40 (local.get $desc)))
    (local.set $PL (i32.load offset=44 (local.get $desc)))
    (local.set $M (i32.mul (i32.mul (local.get $KH) (local.get $KW)) (local.get $C)))
    (local.set $M4 (i32.and (i32.add (local.get $M) (i32.const 3)) (i32.const -4)))
    (local.set $blockBytes (i32.shl (local.get $kc) (i32.const 4))) ;; 4 floats a step
    (local.set $ow (i32.rem_u (local.get $p0) (local.get $OW)))
    (local.set $t (i32.div_u (local.get $p0) (local.get $OW)))
    (local.set $oh (i32.rem_u (local.get $t) (local.get $OH)))
    (local.set $n (i32.div_u (local.get $t) (local.get $OH)))
    (block $kdone (loop $kloop
      (br_if $kdone (i32.ge_u (local.get $k) (local.get $kc)))
      (local.set $r (i32.const 0))
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $KH)))
        (local.set $ih (i32.sub (i32.add (i32.mul (local.get $oh) (local.get $SH)) (local.get $i)) (local.get $PT)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jloop
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $KW)))
          (local.set $iw (i32.sub (i32.add (i32.mul (local.get $ow) (local.get $SW)) (local.get $j)) (local.get $PL)))
          ;; unsigned compares: a negative coordinate is a huge one
          (local.set $inside (i32.and (i32.lt_u (local.get $ih) (local.get $H)) (i32.lt_u (local.get $iw) (local.get $W))))
          (local.set $src (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $H)) (local.get $ih)) (local.get $W)) (local.get $iw)) (local.get $C)) (i32.const 2))))
          (local.set $ci (i32.const 0))
          (if (i32.eqz (i32.and (local.get $C) (i32.const 3)))
            (then
              ;; 4 channels of a tap fill one block's step: one vector
              (block $vdone (loop $vloop
                (br_if $vdone (i32.ge_u (local.get $ci) (local.get $C)))
                (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $blockBytes)) (i32.shl (local.get $k) (i32.const 4)))))
                (v128.store (local.get $d)
                  (if (result v128) (local.get $inside) (then (v128.load (i32.add (local.get $src) (i32.shl (local.get $ci) (i32.const 2)))))
                    (else (v128.const i32x4 0 0 0 0))))
                (local.set $ci (i32.add (local.get $ci) (i32.const 4)))
                (local.set $r (i32.add (local.get $r) (i32.const 4)))
                (br $vloop))))
            (else
              (block $sdone (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $ci) (local.get $C)))
                (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $blockBytes))
                  (i32.shl (i32.add (i32.shl (local.get $k) (i32.const 2)) (i32.and (local.get $r) (i32.const 3))) (i32.const 2)))))
                (f32.store (local.get $d)
                  (if (result f32) (local.get $inside) (then (f32.load (i32.add (local.get $src) (i32.shl (local.get $ci) (i32.const 2)))))
                    (else (f32.const 0))))
                (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $sloop)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop)))
      ;; rows past M in the last block: zero
      (block $zdone (loop $zloop
        (br_if $zdone (i32.ge_u (local.get $r) (local.get $M4)))
        (f32.store (i32.add (local.get $dst) (i32.add (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $blockBytes))
          (i32.shl (i32.add (i32.shl (local.get $k) (i32.const 2)) (i32.and (local.get $r) (i32.const 3))) (i32.const 2)))) (f32.const 0))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $zloop)))
      ;; next position
      (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
      (if (i32.eq (local.get $ow) (local.get $OW)) (then
        (local.set $ow (i32.const 0))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (if (i32.eq (local.get $oh) (local.get $OH)) (then
          (local.set $oh (i32.const 0))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $kloop))))

  ;; The positions split into $parts near-equal ranges; threads claim parts from the i32 at $counter
  ;; (0 at the start) and write part q's sum, M x Cout, at $partials + q M Cout floats, so the sum of
  ;; the parts (taken in order by the caller) does not depend on which thread took which.
  ;; $work: gemmWorkFloats(M, 384, Cout rounded up to 8) floats (heapGemm.ts): packed A (M rounded
  ;; up to 4, by 384), packed B (384 x Cout rounded up to 8), one 4 x 8 tile.
  (func $convFilterGrad (export "convFilterGrad") (param $x i32) (param $dy i32) (param $partials i32) (param $desc i32)
      (param $parts i32) (param $counter i32) (param $work i32)
    (local $P i32) (local $M i32) (local $M4 i32) (local $cout i32) (local $packA i32) (local $packB i32) (local $tile i32)
    (local $q i32) (local $p0 i32) (local $p1 i32) (local $pc i32) (local $kc i32) (local $out i32) (local $ldcb i32)
    (local $ir i32) (local $jr i32)
    (local.set $P (i32.mul (i32.mul (i32.load (local.get $desc)) (i32.load offset=16 (local.get $desc))) (i32.load offset=20 (local.get $desc))))
    (local.set $M (i32.mul (i32.mul (i32.load offset=24 (local.get $desc)) (i32.load offset=28 (local.get $desc))) (i32.load offset=12 (local.get $desc))))
    (local.set $M4 (i32.and (i32.add (local.get $M) (i32.const 3)) (i32.const -4)))
    (local.set $cout (i32.load offset=48 (local.get $desc)))
    (local.set $ldcb (i32.shl (local.get $cout) (i32.const 2)))
    (local.set $packA (local.get $work))
    (local.set $packB (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $M4) (i32.const 384)) (i32.const 2))))
    (local.set $tile (i32.add (local.get $packB)
      (i32.shl (i32.mul (i32.const 384) (i32.and (i32.add (local.get $cout) (i32.const 7)) (i32.const -8))) (i32.const 2))))
    (block $claimed (loop $claim
      (local.set $q (i32.atomic.rmw.add (local.get $counter) (i32.const 1)))
      (br_if $claimed (i32.ge_u (local.get $q) (local.get $parts)))
      (local.set $p0 (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (local.get $q)) (i64.extend_i32_u (local.get $P))) (i64.extend_i32_u (local.get $parts)))))
      (local.set $p1 (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (i32.add (local.get $q) (i32.const 1))) (i64.extend_i32_u (local.get $P))) (i64.extend_i32_u (local.get $parts)))))
      (local.set $out (i32.add (local.get $partials) (i32.shl (i32.mul (local.get $q) (i32.mul (local.get $M) (local.get $cout))) (i32.const 2))))
      (local.set $pc (local.get $p0))
      (block $pdone (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pc) (local.get $p1)))
        (local.set $kc (select (i32.const 384) (i32.sub (local.get $p1) (local.get $pc))
          (i32.le_u (i32.add (local.get $pc) (i32.const 384)) (local.get $p1))))
        (call $convPack (local.get $x) (local.get $desc) (local.get $pc) (local.get $kc) (local.get $packA))
        ;; dy's columns are the rows packed: panels of 8
        (call $gemmPack (local.get $dy) (i32.const 1) (local.get $cout) (i32.const 0) (local.get $cout)
          (local.get $pc) (local.get $kc) (i32.const 8) (local.get $packB))
        (local.set $jr (i32.const 0))
        (block $jdone (loop $jloop
          (br_if $jdone (i32.ge_u (local.get $jr) (local.get $cout)))
          (local.set $ir (i32.const 0))
          (block $rdone (loop $rloop
            (br_if $rdone (i32.ge_u (local.get $ir) (local.get $M)))
            (call $gemmTile (local.get $kc)
              (i32.add (local.get $packA) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2)))
              (i32.add (local.get $packB) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2)))
              (i32.add (local.get $out) (i32.add (i32.mul (local.get $ir) (local.get $ldcb)) (i32.shl (local.get $jr) (i32.const 2))))
              (local.get $ldcb)
              (select (i32.const 4) (i32.sub (local.get $M) (local.get $ir)) (i32.le_u (i32.add (local.get $ir) (i32.const 4)) (local.get $M)))
              (select (i32.const 8) (i32.sub (local.get $cout) (local.get $jr)) (i32.le_u (i32.add (local.get $jr) (i32.const 8)) (local.get $cout)))
              (i32.ne (local.get $pc) (local.get $p0)) (local.get $tile))
            (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
            (br $rloop)))
          (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
          (br $jloop)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
        (br $ploop)))
      (br $claim))))
)
