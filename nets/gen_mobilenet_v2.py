#!/usr/bin/env python3
# gen_mobilenet_v2.py - writes mobilenet_v2.json, the standard MobileNetV2
# (Sandler et al. 2018, Table 2; width 1.0, 224x224x3) as an h4h layer list.
# BN is folded; ReLU6 after the stem, every expand and every depthwise conv;
# the projections are linear; residual adds where stride is 1 and the
# channels match.  Run: python3 nets/gen_mobilenet_v2.py > nets/mobilenet_v2.json
import json

# (t, c, n, s): expansion, output channels, repeats, stride of the first
BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
          (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

layers = [dict(name="conv0", op="conv", kernel=3, stride=2, out=32,
               act="relu6")]
c, b = 32, 1
for t, cout, n, s in BLOCKS:
    for i in range(n):
        stride = s if i == 0 else 1
        inp, p = layers[-1]["name"], "b%d." % b
        if t != 1:
            layers.append(dict(name=p + "expand", op="conv", kernel=1,
                               out=c * t, act="relu6"))
        layers.append(dict(name=p + "dw", op="dwconv", kernel=3,
                           stride=stride, act="relu6"))
        layers.append(dict(name=p + "project", op="conv", kernel=1,
                           out=cout))
        if stride == 1 and c == cout:
            layers.append(dict(name=p + "add", op="add",
                               inputs=[inp, p + "project"]))
        c, b = cout, b + 1
layers += [dict(name="conv_last", op="conv", kernel=1, out=1280,
                act="relu6"),
           dict(name="pool", op="avgpool", **{"global": True}),
           dict(name="fc", op="fc", out=1000)]

print('{"name": "mobilenet_v2", "input": [224, 224, 3], "layers": [')
print(",\n".join("  " + json.dumps(l) for l in layers))
print("]}")
