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
  ;; window, four channels at a time (same first-maximum rule). Work is split by output rows
  ;; u = b outH + oh (units = batch outH), claimed `chunk` at a time from the i32 at $counter (0 at
  ;; the start), so any number of threads can share it; a row writes dx's rows 2oh and 2oh + 1 whole
  ;; (an odd last column: 0), and the image's last output row also zeroes the rows below 2 outH.
  (func $maxPoolGrad2x2 (export "maxPoolGrad2x2") (param $x i32) (param $dy i32) (param $dx i32)
      (param $inH i32) (param $inW i32) (param $channels i32) (param $outH i32) (param $outW i32)
      (param $units i32) (param $chunk i32) (param $counter i32)
    (local $u i32) (local $end i32) (local $oh i32) (local $ow i32) (local $c i32) (local $rowBytes i32)
    (local $down i32) (local $right i32) (local $xp i32) (local $dp i32) (local $g i32) (local $tail i32) (local $rest i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $best v128)
    (local $m0 v128) (local $gt1 v128) (local $gt2 v128) (local $gt3 v128) (local $grad v128)
    (local.set $right (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $down (i32.shl (i32.mul (local.get $inW) (local.get $channels)) (i32.const 2)))
    ;; bytes of the columns past 2 outW in a row
    (local.set $tail (i32.shl (i32.mul (i32.sub (local.get $inW) (i32.shl (local.get $outW) (i32.const 1))) (local.get $channels)) (i32.const 2)))
    (block $claimed (loop $claim
      (local.set $u (i32.atomic.rmw.add (local.get $counter) (local.get $chunk)))
      (br_if $claimed (i32.ge_u (local.get $u) (local.get $units)))
      (local.set $end (select (i32.add (local.get $u) (local.get $chunk)) (local.get $units)
        (i32.lt_u (i32.add (local.get $u) (local.get $chunk)) (local.get $units))))
      (block $udone (loop $uloop
        (br_if $udone (i32.ge_u (local.get $u) (local.get $end)))
        (local.set $oh (i32.rem_u (local.get $u) (local.get $outH)))
        ;; byte offset of x[b, 2oh, 0, 0]
        (local.set $rowBytes (i32.mul (i32.add (i32.mul (i32.div_u (local.get $u) (local.get $outH)) (local.get $inH)) (i32.shl (local.get $oh) (i32.const 1)))
          (local.get $down)))
        (local.set $xp (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $dp (i32.add (local.get $dx) (local.get $rowBytes)))
        (local.set $g (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (local.get $u) (local.get $outW)) (local.get $channels)) (i32.const 2))))
        (local.set $ow (i32.const 0))
        (block $wdone (loop $wloop
          (br_if $wdone (i32.ge_u (local.get $ow) (local.get $outW)))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $channels)))
            (local.set $v0 (v128.load (local.get $xp)))
            (local.set $v1 (v128.load (i32.add (local.get $xp) (local.get $right))))
            (local.set $v2 (v128.load (i32.add (local.get $xp) (local.get $down))))
            (local.set $v3 (v128.load (i32.add (i32.add (local.get $xp) (local.get $down)) (local.get $right))))
            ;; first maximum, row-major, as in maxPoolGrad: start below every value, a later value
            ;; wins only if strictly greater (NaN never wins; a window of NaN passes nothing)
            (local.set $m0 (f32x4.gt (local.get $v0) (f32x4.splat (f32.const -inf))))
            (local.set $best (v128.bitselect (local.get $v0) (f32x4.splat (f32.const -inf)) (local.get $m0)))
            (local.set $gt1 (f32x4.gt (local.get $v1) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v1) (local.get $best) (local.get $gt1)))
            (local.set $gt2 (f32x4.gt (local.get $v2) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v2) (local.get $best) (local.get $gt2)))
            (local.set $gt3 (f32x4.gt (local.get $v3) (local.get $best)))
            ;; the winner's mask: the last position that beat everything before it
            (local.set $gt2 (v128.andnot (local.get $gt2) (local.get $gt3)))
            (local.set $gt1 (v128.andnot (v128.andnot (local.get $gt1) (local.get $gt3)) (local.get $gt2)))
            (local.set $m0 (v128.andnot (local.get $m0) (v128.or (v128.or (local.get $gt1) (local.get $gt2)) (local.get $gt3))))
            (local.set $grad (v128.load (local.get $g)))
            (v128.store (local.get $dp) (v128.and (local.get $grad) (local.get $m0)))
            (v128.store (i32.add (local.get $dp) (local.get $right)) (v128.and (local.get $grad) (local.get $gt1)))
            (v128.store (i32.add (local.get $dp) (local.get $down)) (v128.and (local.get $grad) (local.get $gt2)))
            (v128.store (i32.add (i32.add (local.get $dp) (local.get $down)) (local.get $right)) (v128.and (local.get $grad) (local.get $gt3)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
            (local.set $dp (i32.add (local.get $dp) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cloop)))
          ;; past this window's channels: on to the next window, two columns along
          (local.set $xp (i32.add (local.get $xp) (local.get $right)))
          (local.set $dp (i32.add (local.get $dp) (local.get $right)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $wloop)))
        (if (local.get $tail) (then
          (memory.fill (local.get $dp) (i32.const 0) (local.get $tail))
          (memory.fill (i32.add (local.get $dp) (local.get $down)) (i32.const 0) (local.get $tail))))
        ;; rows of the image below the last window
        (if (i32.eq (local.get $oh) (i32.sub (local.get $outH) (i32.const 1))) (then
          (local.set $rest (i32.sub (local.get $inH) (i32.shl (local.get $outH) (i32.const 1))))
          (if (local.get $rest) (then
            (memory.fill (i32.add (i32.add (local.get $dx) (local.get $rowBytes)) (i32.shl (local.get $down) (i32.const 1)))
              (i32.const 0) (i32.mul (local.get $rest) (local.get $down)))))))
        (local.set $u (i32.add (local.get $u) (i32.const 1)))
        (br $uloop)))
      (br $claim))))

  ;; Max pool over 2x2 windows with stride 2 wholly inside the input, channels a multiple of 4:
  ;; y[b, oh, ow, c] = the maximum of x[b, 2oh..2oh+1, 2ow..2ow+1, c] as the cpu backend takes it
  ;; (starting below every value, replaced only by a strictly greater one: NaN is skipped, a window of
  ;; NaN gives -infinity). Output rows u = b outH + oh are claimed as in maxPoolGrad2x2.
  (func $maxPool2x2 (export "maxPool2x2") (param $x i32) (param $y i32)
      (param $inH i32) (param $inW i32) (param $channels i32) (param $outH i32) (param $outW i32)
      (param $units i32) (param $chunk i32) (param $counter i32)
    (local $u i32) (local $end i32) (local $oh i32) (local $ow i32) (local $c i32)
    (local $down i32) (local $right i32) (local $xp i32) (local $yp i32)
    (local.set $right (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $down (i32.shl (i32.mul (local.get $inW) (local.get $channels)) (i32.const 2)))
    (block $claimed (loop $claim
      (local.set $u (i32.atomic.rmw.add (local.get $counter) (local.get $chunk)))
      (br_if $claimed (i32.ge_u (local.get $u) (local.get $units)))
      (local.set $end (select (i32.add (local.get $u) (local.get $chunk)) (local.get $units)
        (i32.lt_u (i32.add (local.get $u) (local.get $chunk)) (local.get $units))))
      (block $udone (loop $uloop
        (br_if $udone (i32.ge_u (local.get $u) (local.get $end)))
        (local.set $oh (i32.rem_u (local.get $u) (local.get $outH)))
        (local.set $xp (i32.add (local.get $x)
          (i32.mul (i32.add (i32.mul (i32.div_u (local.get $u) (local.get $outH)) (local.get $inH)) (i32.shl (local.get $oh) (i32.const 1)))
            (local.get $down))))
        (local.set $yp (i32.add (local.get $y) (i32.shl (i32.mul (i32.mul (local.get $u) (local.get $outW)) (local.get $channels)) (i32.const 2))))
        (local.set $ow (i32.const 0))
        (block $wdone (loop $wloop
          (br_if $wdone (i32.ge_u (local.get $ow) (local.get $outW)))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $channels)))
            ;; pmax(best, v) = best < v ? v : best: a strictly greater value replaces, NaN never does
            (v128.store (local.get $yp)
              (f32x4.pmax
                (f32x4.pmax
                  (f32x4.pmax
                    (f32x4.pmax (f32x4.splat (f32.const -inf)) (v128.load (local.get $xp)))
                    (v128.load (i32.add (local.get $xp) (local.get $right))))
                  (v128.load (i32.add (local.get $xp) (local.get $down))))
                (v128.load (i32.add (i32.add (local.get $xp) (local.get $down)) (local.get $right)))))
            (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
            (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cloop)))
          (local.set $xp (i32.add (local.get $xp) (local.get $right)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $wloop)))
        (local.set $u (i32.add (local.get $u) (i32.const 1)))
        (br $uloop)))
      (br $claim))))
