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

  ;; dst[j] = sum_i src[i][j] over a row-major rows x cols float32 matrix, rows in order.
  (func $sumColumns (export "sumColumns") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
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
      (v128.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (local.get $acc))
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
      (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (local.get $s))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $tloop))))

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
)
