  ;; ---- Binary operations broadcasting over middle axes ------------------------------------------
  ;; out[b, m, c] = x[b, m, c] op v[b, c] for x seen as [outer, middle, inner] and v as [outer, inner]
  ;; (v broadcast over the middle axes: a per-image, per-channel value such as the gradient of a mean
  ;; over H and W); op 0: x + v, 1: x - v, 2: v - x, 3: x * v. One loop per op (no choice per element).

  ;; out[i] = x[i] op0 v[i mod n] over `count` rows of n floats (n 1: v[0] for every float).
  (func $broadcastRows0 (param $x i32) (param $v i32) (param $out i32) (param $count i32) (param $n i32)
    (local $j i32) (local $end i32) (local $end4 i32) (local $row i32) (local $a v128) (local $b v128) (local $s f32) (local $t f32)
    (if (i32.eq (local.get $n) (i32.const 1)) (then
      ;; one value for all: splat it and run over the block as one row
      (local.set $b (v128.load32_splat (local.get $v)))
      (local.set $t (f32.load (local.get $v)))
      (local.set $end (i32.shl (local.get $count) (i32.const 2)))
      (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
        (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.add (local.get $a) (local.get $b)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $j))))
        (f32.store (i32.add (local.get $out) (local.get $j)) (f32.add (local.get $s) (local.get $t)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (return)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.eqz (local.get $count)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
        (local.set $b (v128.load (i32.add (local.get $v) (local.get $j))))
        (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.add (local.get $a) (local.get $b)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $j))))
        (local.set $t (f32.load (i32.add (local.get $v) (local.get $j))))
        (f32.store (i32.add (local.get $out) (local.get $j)) (f32.add (local.get $s) (local.get $t)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tloop)))
      (local.set $x (i32.add (local.get $x) (local.get $end)))
      (local.set $out (i32.add (local.get $out) (local.get $end)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br $rloop))))

  ;; out[i] = x[i] op1 v[i mod n] over `count` rows of n floats (n 1: v[0] for every float).
  (func $broadcastRows1 (param $x i32) (param $v i32) (param $out i32) (param $count i32) (param $n i32)
    (local $j i32) (local $end i32) (local $end4 i32) (local $row i32) (local $a v128) (local $b v128) (local $s f32) (local $t f32)
    (if (i32.eq (local.get $n) (i32.const 1)) (then
      ;; one value for all: splat it and run over the block as one row
      (local.set $b (v128.load32_splat (local.get $v)))
      (local.set $t (f32.load (local.get $v)))
      (local.set $end (i32.shl (local.get $count) (i32.const 2)))
      (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
        (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.sub (local.get $a) (local.get $b)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $j))))
        (f32.store (i32.add (local.get $out) (local.get $j)) (f32.sub (local.get $s) (local.get $t)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (return)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.eqz (local.get $count)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
        (local.set $b (v128.load (i32.add (local.get $v) (local.get $j))))
        (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.sub (local.get $a) (local.get $b)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $j))))
        (local.set $t (f32.load (i32.add (local.get $v) (local.get $j))))
        (f32.store (i32.add (local.get $out) (local.get $j)) (f32.sub (local.get $s) (local.get $t)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tloop)))
      (local.set $x (i32.add (local.get $x) (local.get $end)))
      (local.set $out (i32.add (local.get $out) (local.get $end)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br $rloop))))

  ;; out[i] = x[i] op2 v[i mod n] over `count` rows of n floats (n 1: v[0] for every float).
  (func $broadcastRows2 (param $x i32) (param $v i32) (param $out i32) (param $count i32) (param $n i32)
    (local $j i32) (local $end i32) (local $end4 i32) (local $row i32) (local $a v128) (local $b v128) (local $s f32) (local $t f32)
    (if (i32.eq (local.get $n) (i32.const 1)) (then
      ;; one value for all: splat it and run over the block as one row
      (local.set $b (v128.load32_splat (local.get $v)))
      (local.set $t (f32.load (local.get $v)))
      (local.set $end (i32.shl (local.get $count) (i32.const 2)))
      (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
        (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.sub (local.get $b) (local.get $a)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $j))))
        (f32.store (i32.add (local.get $out) (local.get $j)) (f32.sub (local.get $t) (local.get $s)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (return)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.eqz (local.get $count)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
        (local.set $b (v128.load (i32.add (local.get $v) (local.get $j))))
        (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.sub (local.get $b) (local.get $a)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $j))))
        (local.set $t (f32.load (i32.add (local.get $v) (local.get $j))))
        (f32.store (i32.add (local.get $out) (local.get $j)) (f32.sub (local.get $t) (local.get $s)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tloop)))
      (local.set $x (i32.add (local.get $x) (local.get $end)))
      (local.set $out (i32.add (local.get $out) (local.get $end)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br $rloop))))

  ;; out[i] = x[i] op3 v[i mod n] over `count` rows of n floats (n 1: v[0] for every float).
  (func $broadcastRows3 (param $x i32) (param $v i32) (param $out i32) (param $count i32) (param $n i32)
    (local $j i32) (local $end i32) (local $end4 i32) (local $row i32) (local $a v128) (local $b v128) (local $s f32) (local $t f32)
    (if (i32.eq (local.get $n) (i32.const 1)) (then
      ;; one value for all: splat it and run over the block as one row
      (local.set $b (v128.load32_splat (local.get $v)))
      (local.set $t (f32.load (local.get $v)))
      (local.set $end (i32.shl (local.get $count) (i32.const 2)))
      (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
        (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.mul (local.get $a) (local.get $b)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $j))))
        (f32.store (i32.add (local.get $out) (local.get $j)) (f32.mul (local.get $s) (local.get $t)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (return)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $end4 (i32.and (local.get $end) (i32.const -16)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.eqz (local.get $count)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
        (local.set $b (v128.load (i32.add (local.get $v) (local.get $j))))
        (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.mul (local.get $a) (local.get $b)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $j))))
        (local.set $t (f32.load (i32.add (local.get $v) (local.get $j))))
        (f32.store (i32.add (local.get $out) (local.get $j)) (f32.mul (local.get $s) (local.get $t)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tloop)))
      (local.set $x (i32.add (local.get $x) (local.get $end)))
      (local.set $out (i32.add (local.get $out) (local.get $end)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br $rloop))))

  ;; The whole operation: outer indices claimed `chunk` at a time from the i32 at $counter (0 at the
  ;; start), so any number of threads can share it; out may be x.
  (func $broadcastMiddleOp (export "broadcastMiddleOp") (param $x i32) (param $v i32) (param $out i32)
      (param $outer i32) (param $middle i32) (param $inner i32) (param $op i32) (param $chunk i32) (param $counter i32)
    (local $b i32) (local $end i32) (local $block i32) (local $xb i32) (local $vb i32) (local $ob i32)
    (local.set $block (i32.shl (i32.mul (local.get $middle) (local.get $inner)) (i32.const 2)))
    (block $claimed (loop $claim
      (local.set $b (i32.atomic.rmw.add (local.get $counter) (local.get $chunk)))
      (br_if $claimed (i32.ge_u (local.get $b) (local.get $outer)))
      (local.set $end (select (i32.add (local.get $b) (local.get $chunk)) (local.get $outer)
        (i32.lt_u (i32.add (local.get $b) (local.get $chunk)) (local.get $outer))))
      (block $bdone (loop $bloop
        (br_if $bdone (i32.ge_u (local.get $b) (local.get $end)))
        (local.set $xb (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $block))))
        (local.set $vb (i32.add (local.get $v) (i32.shl (i32.mul (local.get $b) (local.get $inner)) (i32.const 2))))
        (local.set $ob (i32.add (local.get $out) (i32.mul (local.get $b) (local.get $block))))
        (block $done (block $op3 (block $op2 (block $op1 (block $op0
          (br_table $op0 $op1 $op2 $op3 (local.get $op)))
          (call $broadcastRows0 (local.get $xb) (local.get $vb) (local.get $ob) (local.get $middle) (local.get $inner))
          (br $done))
          (call $broadcastRows1 (local.get $xb) (local.get $vb) (local.get $ob) (local.get $middle) (local.get $inner))
          (br $done))
          (call $broadcastRows2 (local.get $xb) (local.get $vb) (local.get $ob) (local.get $middle) (local.get $inner))
          (br $done))
          (call $broadcastRows3 (local.get $xb) (local.get $vb) (local.get $ob) (local.get $middle) (local.get $inner)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bloop)))
      (br $claim))))
