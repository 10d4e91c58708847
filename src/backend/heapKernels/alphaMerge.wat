  ;; Learned alpha's merge of one parameter (src/merge/mergeParams.ts): the merged weights and the
  ;; gradient of their logit, each one pass, with the float32 operations of the tf ops they replace
  ;; in the same order (no fused multiply-adds), so the bits are the same.

  ;; out = a + w * d over n floats (a merge's running sum plus one model's weighted difference).
  (func $weightedAdd (export "weightedAdd") (param $a i32) (param $w i32) (param $d i32) (param $out i32) (param $n i32)
    (local $off i32) (local $end4 i32) (local $end i32)
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $off) (local.get $end4)))
      (v128.store (i32.add (local.get $out) (local.get $off))
        (f32x4.add (v128.load (i32.add (local.get $a) (local.get $off)))
                   (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $off))) (v128.load (i32.add (local.get $d) (local.get $off))))))
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (br $loop)))
    (block $tdone (loop $tloop
      (br_if $tdone (i32.ge_u (local.get $off) (local.get $end)))
      (f32.store (i32.add (local.get $out) (local.get $off))
        (f32.add (f32.load (i32.add (local.get $a) (local.get $off)))
                 (f32.mul (f32.load (i32.add (local.get $w) (local.get $off))) (f32.load (i32.add (local.get $d) (local.get $off))))))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (br $tloop))))

  ;; out = (dy * d) * (s * (1 - s)) over n floats: the gradient of a logit l from that of
  ;; last + sigmoid(l) * d, where s = sigmoid(l), as tf's Multiply and Sigmoid gradients compute it.
  (func $sigmoidMergeGrad (export "sigmoidMergeGrad") (param $dy i32) (param $d i32) (param $s i32) (param $out i32) (param $n i32)
    (local $off i32) (local $end4 i32) (local $end i32) (local $one v128) (local $sv v128) (local $ss f32)
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $off) (local.get $end4)))
      (local.set $sv (v128.load (i32.add (local.get $s) (local.get $off))))
      (v128.store (i32.add (local.get $out) (local.get $off))
        (f32x4.mul (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $off))) (v128.load (i32.add (local.get $d) (local.get $off))))
                   (f32x4.mul (local.get $sv) (f32x4.sub (local.get $one) (local.get $sv)))))
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (br $loop)))
    (block $tdone (loop $tloop
      (br_if $tdone (i32.ge_u (local.get $off) (local.get $end)))
      (local.set $ss (f32.load (i32.add (local.get $s) (local.get $off))))
      (f32.store (i32.add (local.get $out) (local.get $off))
        (f32.mul (f32.mul (f32.load (i32.add (local.get $dy) (local.get $off))) (f32.load (i32.add (local.get $d) (local.get $off))))
                 (f32.mul (local.get $ss) (f32.sub (f32.const 1) (local.get $ss)))))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (br $tloop))))
