  ;; ---- BatchNorm in training mode (driven by src/backend/wasmBatchNorm.ts) ---------------------
  ;; x and dy are [rows, cols] float32 (channels last); per-channel vectors (mean, scale = gamma
  ;; inverseStd, beta, a, b) are cols floats. The rows split into $parts near-equal ranges that
  ;; threads claim from the i32 at $counter (0 at the start). Sums go per part into float64
  ;; partials, which the caller adds in part order, so results do not depend on which thread took
  ;; which part. Within a part, rows are summed in float32 blocks of at most 64 rows (SIMD over
  ;; channels), each block then joining the part's float64 sums: float32 speed, near-float64 accuracy.
  ;; The ReLU mask is recomputed from x as the forward pass computed it, bit for bit:
  ;; z = (x - mean) * scale + beta, kept where z > 0.

  ;; First row of part $q of $parts over $rows.
  (func $bnPartStart (param $q i32) (param $rows i32) (param $parts i32) (result i32)
    (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (local.get $q)) (i64.extend_i32_u (local.get $rows)))
      (i64.extend_i32_u (local.get $parts)))))

  ;; n floats at $dst = 0.
  (func $bnZero (param $dst i32) (param $n i32)
    (local $off i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
      (f32.store (i32.add (local.get $dst) (local.get $off)) (f32.const 0))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (br $loop))))

  ;; float64 sums[j] += float32 block[j] for j < n.
  (func $bnFlush (param $block i32) (param $sums i32) (param $n i32)
    (local $j i32) (local $s i32)
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $s (i32.add (local.get $sums) (i32.shl (local.get $j) (i32.const 3))))
      (f64.store (local.get $s) (f64.add (f64.load (local.get $s))
        (f64.promote_f32 (f32.load (i32.add (local.get $block) (i32.shl (local.get $j) (i32.const 2)))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $loop))))

  ;; acc[j] += sum over rows [r0, r1) of d, d = x - mean ($square 0) or (x - mean)^2 ($square 1).
  (func $bnBlockMoments (param $x i32) (param $mean i32) (param $r0 i32) (param $r1 i32) (param $cols i32)
      (param $square i32) (param $acc i32)
    (local $r i32) (local $row i32) (local $j i32) (local $end4 i32) (local $end i32) (local $d v128) (local $s f32)
    (local.set $end4 (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $r (local.get $r0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $row (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $end))))
      (local.set $j (i32.const 0))
      (if (local.get $square)
        (then
          (block $vdone (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
            (local.set $d (f32x4.sub (v128.load (i32.add (local.get $row) (local.get $j))) (v128.load (i32.add (local.get $mean) (local.get $j)))))
            (v128.store (i32.add (local.get $acc) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $acc) (local.get $j))) (f32x4.mul (local.get $d) (local.get $d))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vloop))))
        (else
          (block $vdone (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
            (v128.store (i32.add (local.get $acc) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $acc) (local.get $j)))
                (f32x4.sub (v128.load (i32.add (local.get $row) (local.get $j))) (v128.load (i32.add (local.get $mean) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vloop)))))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.sub (f32.load (i32.add (local.get $row) (local.get $j))) (f32.load (i32.add (local.get $mean) (local.get $j)))))
        (if (local.get $square) (then (local.set $s (f32.mul (local.get $s) (local.get $s)))))
        (f32.store (i32.add (local.get $acc) (local.get $j)) (f32.add (f32.load (i32.add (local.get $acc) (local.get $j))) (local.get $s)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; Per part q: partials[q] (float64, 2 cols) = [mean, sum of squared deviations from the mean]
  ;; of each column over the part's rows. Each block of rows is read twice while it is in cache,
  ;; for its sum, then for its squared deviations from its own mean; blocks then join the part's
  ;; running statistics by Chan et al.'s update (no cancellation, one read of x from memory).
  ;; $work: 3 cols floats of this thread's own (block sums, block means, block squares).
  (func $batchNormStats (export "batchNormStats") (param $x i32) (param $rows i32) (param $cols i32) (param $blockRows i32)
      (param $parts i32) (param $counter i32) (param $partials i32) (param $work i32)
    (local $q i32) (local $r i32) (local $r0 i32) (local $r1 i32) (local $b1 i32) (local $stats i32) (local $j i32)
    (local $blockSums i32) (local $blockMeans i32) (local $blockSquares i32) (local $nb f64) (local $na f64) (local $n f64)
    (local $m f64) (local $m2 f64) (local $delta f64) (local $mean i32) (local $sq i32)
    (local.set $blockSums (local.get $work))
    (local.set $blockMeans (i32.add (local.get $work) (i32.shl (local.get $cols) (i32.const 2))))
    (local.set $blockSquares (i32.add (local.get $work) (i32.shl (local.get $cols) (i32.const 3))))
    (block $claimed (loop $claim
      (local.set $q (i32.atomic.rmw.add (local.get $counter) (i32.const 1)))
      (br_if $claimed (i32.ge_u (local.get $q) (local.get $parts)))
      (local.set $stats (i32.add (local.get $partials) (i32.shl (i32.mul (local.get $q) (local.get $cols)) (i32.const 4))))
      (call $bnZero (local.get $stats) (i32.shl (local.get $cols) (i32.const 2)))
      (local.set $r0 (call $bnPartStart (local.get $q) (local.get $rows) (local.get $parts)))
      (local.set $r1 (call $bnPartStart (i32.add (local.get $q) (i32.const 1)) (local.get $rows) (local.get $parts)))
      (local.set $r (local.get $r0))
      (block $bdone (loop $bloop
        (br_if $bdone (i32.ge_u (local.get $r) (local.get $r1)))
        (local.set $b1 (select (i32.add (local.get $r) (local.get $blockRows)) (local.get $r1)
          (i32.lt_u (i32.add (local.get $r) (local.get $blockRows)) (local.get $r1))))
        (local.set $nb (f64.convert_i32_u (i32.sub (local.get $b1) (local.get $r))))
        ;; block sums (the zeroed squares serve as a zero mean), then the block's float32 means
        (call $bnZero (local.get $blockSums) (local.get $cols))
        (call $bnZero (local.get $blockSquares) (local.get $cols))
        (call $bnBlockMoments (local.get $x) (local.get $blockSquares) (local.get $r) (local.get $b1) (local.get $cols) (i32.const 0) (local.get $blockSums))
        (local.set $j (i32.const 0))
        (block $mdone (loop $mloop
          (br_if $mdone (i32.ge_u (local.get $j) (local.get $cols)))
          (f32.store (i32.add (local.get $blockMeans) (i32.shl (local.get $j) (i32.const 2)))
            (f32.demote_f64 (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $blockSums) (i32.shl (local.get $j) (i32.const 2))))) (local.get $nb))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $mloop)))
        (call $bnBlockMoments (local.get $x) (local.get $blockMeans) (local.get $r) (local.get $b1) (local.get $cols) (i32.const 1) (local.get $blockSquares))
        ;; join: the block's float64 mean m, its squares about m (corrected from the float32 mean the
        ;; pass used), then Chan's update of the part's mean and squares
        (local.set $na (f64.convert_i32_u (i32.sub (local.get $r) (local.get $r0))))
        (local.set $n (f64.add (local.get $na) (local.get $nb)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jloop
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))
          (local.set $m (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $blockSums) (i32.shl (local.get $j) (i32.const 2))))) (local.get $nb)))
          (local.set $delta (f64.sub (local.get $m) (f64.promote_f32 (f32.load (i32.add (local.get $blockMeans) (i32.shl (local.get $j) (i32.const 2)))))))
          (local.set $m2 (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $blockSquares) (i32.shl (local.get $j) (i32.const 2)))))
            (f64.mul (local.get $nb) (f64.mul (local.get $delta) (local.get $delta)))))
          (local.set $mean (i32.add (local.get $stats) (i32.shl (local.get $j) (i32.const 3))))
          (local.set $sq (i32.add (local.get $mean) (i32.shl (local.get $cols) (i32.const 3))))
          (local.set $delta (f64.sub (local.get $m) (f64.load (local.get $mean))))
          (f64.store (local.get $mean) (f64.add (f64.load (local.get $mean)) (f64.div (f64.mul (local.get $delta) (local.get $nb)) (local.get $n))))
          (f64.store (local.get $sq) (f64.add (f64.load (local.get $sq))
            (f64.add (local.get $m2) (f64.div (f64.mul (f64.mul (local.get $delta) (local.get $delta)) (f64.mul (local.get $na) (local.get $nb))) (local.get $n)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jloop)))
        (local.set $r (local.get $b1))
        (br $bloop)))
      (br $claim))))

  ;; accG[j] += g and accGX[j] += g (x - mean) over rows [r0, r1), g = dy, masked by z > 0 when $relu.
  (func $bnBlockGradSums (param $x i32) (param $dy i32) (param $mean i32) (param $scale i32) (param $beta i32) (param $relu i32)
      (param $r0 i32) (param $r1 i32) (param $cols i32) (param $accG i32) (param $accGX i32)
    (local $r i32) (local $off i32) (local $j i32) (local $end4 i32) (local $end i32) (local $keepAll v128)
    (local $d v128) (local $g v128) (local $ds f32) (local $gs f32)
    (local.set $end4 (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    ;; without ReLU every lane is kept
    (if (i32.eqz (local.get $relu)) (then (local.set $keepAll (v128.const i32x4 -1 -1 -1 -1))))
    (local.set $r (local.get $r0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $off (i32.mul (local.get $r) (local.get $end)))
      (local.set $j (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (i32.add (local.get $off) (local.get $j))))
          (v128.load (i32.add (local.get $mean) (local.get $j)))))
        (local.set $g (v128.and (v128.load (i32.add (local.get $dy) (i32.add (local.get $off) (local.get $j))))
          (v128.or (local.get $keepAll)
            (f32x4.gt (f32x4.add (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $scale) (local.get $j))))
              (v128.load (i32.add (local.get $beta) (local.get $j)))) (v128.const f32x4 0 0 0 0)))))
        (v128.store (i32.add (local.get $accG) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $accG) (local.get $j))) (local.get $g)))
        (v128.store (i32.add (local.get $accGX) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $accGX) (local.get $j))) (f32x4.mul (local.get $g) (local.get $d))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $ds (f32.sub (f32.load (i32.add (local.get $x) (i32.add (local.get $off) (local.get $j))))
          (f32.load (i32.add (local.get $mean) (local.get $j)))))
        (local.set $gs (f32.load (i32.add (local.get $dy) (i32.add (local.get $off) (local.get $j)))))
        (if (i32.and (local.get $relu)
              (i32.eqz (f32.gt (f32.add (f32.mul (local.get $ds) (f32.load (i32.add (local.get $scale) (local.get $j))))
                (f32.load (i32.add (local.get $beta) (local.get $j)))) (f32.const 0))))
          (then (local.set $gs (f32.const 0))))
        (f32.store (i32.add (local.get $accG) (local.get $j)) (f32.add (f32.load (i32.add (local.get $accG) (local.get $j))) (local.get $gs)))
        (f32.store (i32.add (local.get $accGX) (local.get $j))
          (f32.add (f32.load (i32.add (local.get $accGX) (local.get $j))) (f32.mul (local.get $gs) (local.get $ds))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; Per part q: partials[q] (float64, 2 cols) = [sum of g, sum of g (x - mean)] over the part's
  ;; rows, g = dy masked by the ReLU when $relu. $work: 2 cols floats of this thread's own.
  (func $batchNormGradSums (export "batchNormGradSums") (param $x i32) (param $dy i32) (param $mean i32) (param $scale i32)
      (param $beta i32) (param $relu i32) (param $rows i32) (param $cols i32) (param $parts i32) (param $counter i32)
      (param $partials i32) (param $work i32)
    (local $q i32) (local $r i32) (local $r1 i32) (local $b1 i32) (local $sums i32) (local $workGX i32)
    (local.set $workGX (i32.add (local.get $work) (i32.shl (local.get $cols) (i32.const 2))))
    (block $claimed (loop $claim
      (local.set $q (i32.atomic.rmw.add (local.get $counter) (i32.const 1)))
      (br_if $claimed (i32.ge_u (local.get $q) (local.get $parts)))
      (local.set $sums (i32.add (local.get $partials) (i32.shl (i32.mul (local.get $q) (local.get $cols)) (i32.const 4))))
      (call $bnZero (local.get $sums) (i32.shl (local.get $cols) (i32.const 2)))
      (local.set $r (call $bnPartStart (local.get $q) (local.get $rows) (local.get $parts)))
      (local.set $r1 (call $bnPartStart (i32.add (local.get $q) (i32.const 1)) (local.get $rows) (local.get $parts)))
      (block $bdone (loop $bloop
        (br_if $bdone (i32.ge_u (local.get $r) (local.get $r1)))
        (local.set $b1 (select (i32.add (local.get $r) (i32.const 64)) (local.get $r1)
          (i32.lt_u (i32.add (local.get $r) (i32.const 64)) (local.get $r1))))
        (call $bnZero (local.get $work) (i32.shl (local.get $cols) (i32.const 1)))
        (call $bnBlockGradSums (local.get $x) (local.get $dy) (local.get $mean) (local.get $scale) (local.get $beta) (local.get $relu)
          (local.get $r) (local.get $b1) (local.get $cols) (local.get $work) (local.get $workGX))
        (call $bnFlush (local.get $work) (local.get $sums) (i32.shl (local.get $cols) (i32.const 1)))
        (local.set $r (local.get $b1))
        (br $bloop)))
      (br $claim))))

  ;; y = (x - mean) * scale + beta, then max(y, 0) when $relu, over the parts' rows (any thread any
  ;; part: each element is computed alone).
  (func $batchNormApply (export "batchNormApply") (param $x i32) (param $mean i32) (param $scale i32) (param $beta i32)
      (param $y i32) (param $rows i32) (param $cols i32) (param $relu i32) (param $parts i32) (param $counter i32)
    (local $q i32) (local $off i32) (local $last i32) (local $rowEnd i32) (local $j i32) (local $end4 i32) (local $end i32)
    (local $floor v128) (local $floorScalar f32) (local $a i32)
    (local.set $end4 (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    ;; max with -infinity changes nothing (NaN stays NaN either way)
    (local.set $floorScalar (select (f32.const 0) (f32.const -inf) (local.get $relu)))
    (local.set $floor (f32x4.splat (local.get $floorScalar)))
    (block $claimed (loop $claim
      (local.set $q (i32.atomic.rmw.add (local.get $counter) (i32.const 1)))
      (br_if $claimed (i32.ge_u (local.get $q) (local.get $parts)))
      (local.set $off (i32.mul (call $bnPartStart (local.get $q) (local.get $rows) (local.get $parts)) (local.get $end)))
      (local.set $last (i32.mul (call $bnPartStart (i32.add (local.get $q) (i32.const 1)) (local.get $rows) (local.get $parts)) (local.get $end)))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $off) (local.get $last)))
        (local.set $j (i32.const 0))
        (block $vdone (loop $vloop
          (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
          (local.set $a (i32.add (local.get $off) (local.get $j)))
          (v128.store (i32.add (local.get $y) (local.get $a))
            (f32x4.max (local.get $floor)
              (f32x4.add (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $a))) (v128.load (i32.add (local.get $mean) (local.get $j))))
                (v128.load (i32.add (local.get $scale) (local.get $j)))) (v128.load (i32.add (local.get $beta) (local.get $j))))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $vloop)))
        (block $tdone (loop $tloop
          (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
          (local.set $a (i32.add (local.get $off) (local.get $j)))
          (f32.store (i32.add (local.get $y) (local.get $a))
            (f32.max (local.get $floorScalar)
              (f32.add (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $a))) (f32.load (i32.add (local.get $mean) (local.get $j))))
                (f32.load (i32.add (local.get $scale) (local.get $j)))) (f32.load (i32.add (local.get $beta) (local.get $j))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $tloop)))
        (local.set $off (i32.add (local.get $off) (local.get $end)))
        (br $rloop)))
      (br $claim))))

  ;; dx = scale (g - a - (x - mean) b), g = dy masked by z > 0 when $relu, over the parts' rows;
  ;; a = dbeta / n and b = inverseStd dgamma / n per channel (the caller's).
  (func $batchNormGradApply (export "batchNormGradApply") (param $x i32) (param $dy i32) (param $mean i32) (param $scale i32)
      (param $beta i32) (param $relu i32) (param $va i32) (param $vb i32) (param $dx i32) (param $rows i32) (param $cols i32)
      (param $parts i32) (param $counter i32)
    (local $q i32) (local $off i32) (local $last i32) (local $j i32) (local $end4 i32) (local $end i32) (local $a i32)
    (local $keepAll v128) (local $d v128) (local $g v128) (local $s v128) (local $ds f32) (local $gs f32) (local $ss f32)
    (local.set $end4 (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (if (i32.eqz (local.get $relu)) (then (local.set $keepAll (v128.const i32x4 -1 -1 -1 -1))))
    (block $claimed (loop $claim
      (local.set $q (i32.atomic.rmw.add (local.get $counter) (i32.const 1)))
      (br_if $claimed (i32.ge_u (local.get $q) (local.get $parts)))
      (local.set $off (i32.mul (call $bnPartStart (local.get $q) (local.get $rows) (local.get $parts)) (local.get $end)))
      (local.set $last (i32.mul (call $bnPartStart (i32.add (local.get $q) (i32.const 1)) (local.get $rows) (local.get $parts)) (local.get $end)))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $off) (local.get $last)))
        (local.set $j (i32.const 0))
        (block $vdone (loop $vloop
          (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
          (local.set $a (i32.add (local.get $off) (local.get $j)))
          (local.set $s (v128.load (i32.add (local.get $scale) (local.get $j))))
          (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $a))) (v128.load (i32.add (local.get $mean) (local.get $j)))))
          (local.set $g (v128.and (v128.load (i32.add (local.get $dy) (local.get $a)))
            (v128.or (local.get $keepAll)
              (f32x4.gt (f32x4.add (f32x4.mul (local.get $d) (local.get $s)) (v128.load (i32.add (local.get $beta) (local.get $j))))
                (v128.const f32x4 0 0 0 0)))))
          (v128.store (i32.add (local.get $dx) (local.get $a))
            (f32x4.mul (local.get $s)
              (f32x4.sub (f32x4.sub (local.get $g) (v128.load (i32.add (local.get $va) (local.get $j))))
                (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $vb) (local.get $j)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $vloop)))
        (block $tdone (loop $tloop
          (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
          (local.set $a (i32.add (local.get $off) (local.get $j)))
          (local.set $ss (f32.load (i32.add (local.get $scale) (local.get $j))))
          (local.set $ds (f32.sub (f32.load (i32.add (local.get $x) (local.get $a))) (f32.load (i32.add (local.get $mean) (local.get $j)))))
          (local.set $gs (f32.load (i32.add (local.get $dy) (local.get $a))))
          (if (i32.and (local.get $relu)
                (i32.eqz (f32.gt (f32.add (f32.mul (local.get $ds) (local.get $ss)) (f32.load (i32.add (local.get $beta) (local.get $j)))) (f32.const 0))))
            (then (local.set $gs (f32.const 0))))
          (f32.store (i32.add (local.get $dx) (local.get $a))
            (f32.mul (local.get $ss)
              (f32.sub (f32.sub (local.get $gs) (f32.load (i32.add (local.get $va) (local.get $j))))
                (f32.mul (local.get $ds) (f32.load (i32.add (local.get $vb) (local.get $j)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $tloop)))
        (local.set $off (i32.add (local.get $off) (local.get $end)))
        (br $rloop)))
      (br $claim))))
