/*
 * ops_layout.c - the ONNX ops that emit no layer: Reshape, Flatten,
 * Transpose, Squeeze, Unsqueeze, Expand, Identity and friends change a
 * tensor's dims; Concat, Slice, Split and Gather too; Constant, Range,
 * Where and friends fold to constants.
 */
#include "sim/front/onnx/onnxInt.h"

/* ---- layout ops --------------------------------------------------------- */

static int
layout_out(lower *lw, tens *x, size_t o, int rank, const int64_t *dims,
    tens **res)
{
	int xi = onnx_idx(lw, x);
	tens *t;
	int rc;

	if (x->kind == T_DYN) {
		t = onnx_alias(lw, x, o);
		x = &lw->t[xi];
		t->fusable = x->fusable && rank == x->rank &&
		    memcmp(dims, x->dims, (size_t)rank * sizeof *dims) == 0;
		t->pend = x->pend;
		t->pend_of = x->pend_of;
		t->gate_act = x->gate_act;
		t->solo_act = x->solo_act;
		t->gate_node = x->gate_node;
		if (x->pend != P_NONE)
			t->root = x->root;
	} else {
		t = onnx_out_t(lw, o);
		t->kind = T_CONST;
		t->nval = -1;
	}
	if ((rc = onnx_set_dims(lw, t, rank, dims)) != 0)
		return rc;
	*res = t;
	return 0;
}

int
onnx_op_layout(lower *lw, const onnx_op *e)
{
	const char *op = e->name;
	const Onnx__NodeProto *n = lw->node;
	tens *x, *s, *t;
	int64_t dims[MAX_RANK], v[MAX_VALS];
	int xi, rc, nv;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	xi = onnx_idx(lw, x);
	if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0 ||
	    strcmp(op, "Cast") == 0) {
		if ((rc = layout_out(lw, x, 0, x->rank, x->dims, &t)) != 0)
			return rc;
		x = &lw->t[xi];
		if (x->kind == T_CONST) {
			t->nval = x->nval;
			t->isint = x->isint || strcmp(op, "Cast") == 0;
			memcpy(t->val, x->val, sizeof t->val);
		}
		if (x->kind == T_DYN)
			t->root = x->root;
		return 0;
	}
	if (strcmp(op, "Shape") == 0) {
		int64_t st = onnx_attr_i(n, "start", 0), en = onnx_attr_i(n,
		    "end",
		    x->rank);

		if (st < 0)
			st += x->rank;
		if (en < 0)
			en += x->rank;
		st = st < 0 ? 0 : st > x->rank ? x->rank : st;
		en = en < st ? st : en > x->rank ? x->rank : en;
		t = onnx_out_t(lw, 0);
		x = &lw->t[xi];
		t->kind = T_CONST;
		t->rank = 1;
		t->dims[0] = en - st;
		t->isint = 1;
		t->nval = (int)(en - st);
		for (int64_t i = st; i < en; i++)
			t->val[i - st] = (double)x->dims[i];
		return 0;
	}
	if (strcmp(op, "Size") == 0) {
		t = onnx_out_t(lw, 0);
		x = &lw->t[xi];
		t->kind = T_CONST;
		t->rank = 0;
		t->isint = 1;
		t->nval = 1;
		t->val[0] = (double)onnx_numel(x);
		return 0;
	}
	if (strcmp(op, "Reshape") == 0) {
		long long known = 1;
		int minus = -1;

		if ((rc = onnx_need_in(lw, 1, &s)) != 0 ||
		    (rc = onnx_const_ints(lw, s, "the shape", v, MAX_RANK,
		    &nv)) != 0)
			return rc;
		x = &lw->t[xi];
		for (int i = 0; i < nv; i++) {
			dims[i] = v[i] == 0 && !onnx_attr_i(n, "allowzero",
			    0) &&
			    i < x->rank ? x->dims[i] : v[i];
			if (dims[i] == -1) {
				if (minus >= 0)
					return onnx_bad(lw,
					    "two -1 in the shape");
				minus = i;
			} else if (dims[i] < 0 || dims[i] > INT_MAX) {
				return onnx_bad(lw,
				    "dimension %lld in the shape",
				    (long long)dims[i]);
			} else if (__builtin_mul_overflow(known,
			    (long long)dims[i], &known) ||
			    known > ONNX_MAX_ELEMS) {
				return onnx_bad(lw, "the shape has more than "
				    "%lld elements", ONNX_MAX_ELEMS);
			}
		}
		if (minus >= 0)
			dims[minus] = known ? onnx_numel(x) / known : 0;
		{
			/* each factor <= INT_MAX, the known ones' product
			 * <= ONNX_MAX_ELEMS, -1's <= numel: no overflow */
			long long tot = known * (minus >= 0 ? dims[minus] : 1);

			if (tot != onnx_numel(x))
				return onnx_bad(lw,
				    "reshapes %lld elements into "
				    "%lld", onnx_numel(x), tot);
		}
		if ((rc = layout_out(lw, x, 0, nv, dims, &t)) != 0)
			return rc;
		x = &lw->t[xi];
		if (x->kind == T_CONST && x->nval >= 0) {
			t->nval = x->nval;
			t->isint = x->isint;
			memcpy(t->val, x->val, sizeof t->val);
		}
		return 0;
	}
	if (strcmp(op, "Flatten") == 0) {
		int64_t axis = onnx_attr_i(n, "axis", 1);
		int64_t a = 1, b = 1;

		if (axis < 0)
			axis += x->rank;
		if (axis < 0 || axis > x->rank)
			return onnx_bad(lw, "axis %lld for rank %d",
			    (long long)onnx_attr_i(n, "axis", 1), x->rank);
		for (int i = 0; i < x->rank; i++)
			*(i < axis ? &a : &b) *= x->dims[i];
		dims[0] = a;
		dims[1] = b;
		return layout_out(lw, x, 0, 2, dims, &t);
	}
	if (strcmp(op, "Transpose") == 0) {
		int64_t perm[MAX_RANK];
		int np = onnx_attr_ints(n, "perm", perm, MAX_RANK);

		if (np < 0)
			for (int i = 0; i < x->rank; i++)
				perm[i] = x->rank - 1 - i;
		else if (np != x->rank)
			return onnx_bad(lw, "'perm' has %d values for rank %d",
			    np,
			    x->rank);
		for (int i = 0; i < x->rank; i++) {
			if (perm[i] < 0 || perm[i] >= x->rank)
				return onnx_bad(lw, "'perm' value %lld",
				    (long long)perm[i]);
			for (int j = 0; j < i; j++)
				if (perm[j] == perm[i])
					return onnx_bad(lw, "'perm' names axis "
					    "%lld twice", (long long)perm[i]);
			dims[i] = x->dims[perm[i]];
		}
		rc = layout_out(lw, x, 0, x->rank, dims, &t);
		if (rc == 0 && lw->t[xi].kind == T_CONST && x->rank <= 1) {
			t->nval = lw->t[xi].nval;
			memcpy(t->val, lw->t[xi].val, sizeof t->val);
		}
		return rc;
	}
	if (strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0) {
		int64_t axes[MAX_RANK];
		int na = onnx_attr_ints(n, "axes", axes, MAX_RANK), r = 0;
		int sq = op[0] == 'S', outr;

		if (na < 0 && n->n_input > 1) {
			if ((rc = onnx_need_in(lw, 1, &s)) != 0 ||
			    (rc = onnx_const_ints(lw, s, "'axes'", axes,
			    MAX_RANK, &na)) != 0)
				return rc;
			x = &lw->t[xi];
		}
		if (na > MAX_RANK)
			return onnx_bad(lw, "'axes' has %d values (at most %d)",
			    na, MAX_RANK);
		if (!sq && na < 0)
			return onnx_bad(lw, "no 'axes'");
		outr = sq ? (na < 0 ? 0 : x->rank - na) : x->rank + na;
		if (outr < 0 || outr > MAX_RANK)
			return onnx_bad(lw, "%d axes for rank %d", na, x->rank);
		for (int i = 0; i < na; i++) {
			int64_t a0 = axes[i], r0 = sq ? x->rank : outr;

			if (axes[i] < 0)
				axes[i] += r0;
			if (axes[i] < 0 || axes[i] >= r0)
				return onnx_bad(lw, "axis %lld for rank %lld",
				    (long long)a0, (long long)r0);
			for (int j = 0; j < i; j++)
				if (axes[j] == axes[i])
					return onnx_bad(lw, "axis %lld named "
					    "twice", (long long)a0);
			if (sq && x->dims[axes[i]] != 1)
				return onnx_bad(lw, "axis %lld has size %lld "
				    "(Squeeze removes axes of size 1)",
				    (long long)a0,
				    (long long)x->dims[axes[i]]);
		}
		if (sq) {
			for (int i = 0; i < x->rank; i++) {
				int drop = 0;

				for (int j = 0; j < na; j++)
					drop |= axes[j] == i;
				if (na < 0)
					drop = x->dims[i] == 1;
				if (!drop)
					dims[r++] = x->dims[i];
			}
		} else {
			for (int i = 0, k = 0; i < outr; i++) {
				int ins = 0;

				for (int j = 0; j < na; j++)
					ins |= axes[j] == i;
				dims[r++] = ins ? 1 : x->dims[k++];
			}
		}
		if ((rc = layout_out(lw, x, 0, r, dims, &t)) != 0)
			return rc;
		x = &lw->t[xi];
		if (x->kind == T_CONST && x->nval >= 0) {
			t->nval = x->nval;
			t->isint = x->isint;
			memcpy(t->val, x->val, sizeof t->val);
		}
		return 0;
	}
	if (strcmp(op, "Expand") == 0) {
		tens shp;

		if ((rc = onnx_need_in(lw, 1, &s)) != 0 ||
		    (rc = onnx_const_ints(lw, s, "the shape", v, MAX_RANK,
		    &nv)) != 0)
			return rc;
		x = &lw->t[xi];
		memset(&shp, 0, sizeof shp);
		shp.name = "the shape";
		for (int i = 0; i < nv; i++)
			if (v[i] < 0 || v[i] > INT_MAX)
				return onnx_bad(lw, "dimension %lld in the "
				    "shape", (long long)v[i]);
		shp.rank = nv;
		for (int i = 0; i < nv; i++)
			shp.dims[i] = v[i];
		t = onnx_out_t(lw, 0);
		x = &lw->t[xi];
		{
			tens r;

			memset(&r, 0, sizeof r);
			r.name = lw->node->output[0];
			if ((rc = onnx_broadcast(lw, x, &shp, &r)) != 0)
				return rc;
			if (x->kind == T_DYN && onnx_numel(&r) != onnx_numel(x))
				return onnx_bad(lw,
				    "an Expand of an activation "
				    "(not modelled)");
			if ((rc = layout_out(lw, x, 0, r.rank, r.dims, &t)) !=
			    0)
				return rc;
		}
		return 0;
	}
	return onnx_bad(lw, "internal: layout op %s", op);
}

int
onnx_op_concat(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	const Onnx__NodeProto *n = lw->node;
	int64_t axis = onnx_attr_i(n, "axis", 0), dims[MAX_RANK];
	int first = -1, dyn = -1, allval = 1, nv = 0, rank, rc;
	double vals[MAX_VALS];
	tens *x, *t;

	for (size_t i = 0; i < n->n_input; i++) {
		if ((rc = onnx_need_in(lw, i, &x)) != 0)
			return rc;
		if (first < 0)
			first = onnx_idx(lw, x);
		if (x->rank != lw->t[first].rank)
			return onnx_bad(lw, "inputs of rank %d and %d", x->rank,
			    lw->t[first].rank);
		if (x->kind == T_DYN) {
			if ((rc = onnx_settle(lw, onnx_idx(lw, x))) != 0)
				return rc;
			if (dyn < 0 || x->src > lw->t[dyn].src)
				dyn = onnx_idx(lw, x);
			allval = 0;
		} else if (x->nval < 0 || x->rank != 1 ||
		    nv + x->nval > MAX_VALS) {
			allval = 0;
		} else {
			memcpy(vals + nv, x->val, (size_t)x->nval *
			    sizeof *vals);
			nv += x->nval;
		}
	}
	if (first < 0)
		return onnx_bad(lw, "no inputs");
	rank = lw->t[first].rank;
	if (axis < 0)
		axis += rank;
	if (axis < 0 || axis >= rank)
		return onnx_bad(lw, "axis %lld for rank %d", (long long)axis,
		    rank);
	memcpy(dims, lw->t[first].dims, sizeof dims);
	dims[axis] = 0;
	for (size_t i = 0; i < n->n_input; i++) {
		onnx_in(lw, i, &x);
		for (int k = 0; k < rank; k++)
			if (k != axis && x->dims[k] != dims[k])
				return onnx_bad(lw, "input '%s' has %lld on "
				    "axis %d, not %lld", x->name,
				    (long long)x->dims[k], k,
				    (long long)dims[k]);
		/* each <= INT_MAX; stop before the sum could wrap */
		dims[axis] += x->dims[axis];
		if (dims[axis] > INT_MAX)
			return onnx_bad(lw, "the result has %lld on axis %lld",
			    (long long)dims[axis], (long long)axis);
	}
	/* Producers write into their slices of the output (as Vela lays
	 * out a concatenation): free; the reader reads the whole tensor,
	 * held, for the record, by the latest of its producers. */
	if (dyn >= 0) {
		rc = layout_out(lw, &lw->t[dyn], 0, rank, dims, &t);
		if (rc == 0)
			t->fusable = 0;
		return rc;
	}
	t = onnx_out_t(lw, 0);
	if ((rc = onnx_set_dims(lw, t, rank, dims)) != 0)
		return rc;
	t->kind = T_CONST;
	t->isint = 1;
	if (allval && nv == onnx_numel(t)) {
		t->nval = nv;
		memcpy(t->val, vals, (size_t)nv * sizeof *vals);
	}
	return 0;
}

/* Slice (opset 10+: starts, ends, axes, steps as inputs; 1-9: attrs). */
int
onnx_op_slice(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	const Onnx__NodeProto *n = lw->node;
	int64_t st[MAX_RANK], en[MAX_RANK], ax[MAX_RANK], sp[MAX_RANK];
	int64_t dims[MAX_RANK], first[MAX_RANK], step[MAX_RANK];
	int ns = -1, ne = -1, na = -1, np = -1, xi, rc;
	tens *x, *a, *t;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	xi = onnx_idx(lw, x);
	if (n->n_input >= 3) {
		if ((rc = onnx_need_in(lw, 1, &a)) != 0 ||
		    (rc = onnx_const_ints(lw, a, "'starts'", st, MAX_RANK,
		    &ns)) != 0 ||
		    (rc = onnx_need_in(lw, 2, &a)) != 0 ||
		    (rc = onnx_const_ints(lw, a, "'ends'", en, MAX_RANK,
		    &ne)) != 0)
			return rc;
		if ((rc = onnx_in(lw, 3, &a)) != 0 || (a != NULL &&
		    (rc = onnx_const_ints(lw, a, "'axes'", ax, MAX_RANK,
		    &na)) != 0))
			return rc;
		if ((rc = onnx_in(lw, 4, &a)) != 0 || (a != NULL &&
		    (rc = onnx_const_ints(lw, a, "'steps'", sp, MAX_RANK,
		    &np)) != 0))
			return rc;
	} else {
		ns = onnx_attr_ints(n, "starts", st, MAX_RANK);
		ne = onnx_attr_ints(n, "ends", en, MAX_RANK);
		na = onnx_attr_ints(n, "axes", ax, MAX_RANK);
	}
	x = &lw->t[xi];
	if (ns < 0 || ns != ne || ns > x->rank || (na >= 0 && na != ns) ||
	    (np >= 0 && np != ns))
		return onnx_bad(lw,
		    "'starts', 'ends', 'axes' and 'steps' do not "
		    "match");
	memcpy(dims, x->dims, sizeof dims);
	for (int i = 0; i < x->rank; i++)
		first[i] = 0, step[i] = 1;
	for (int i = 0; i < ns; i++) {
		int64_t axis = na >= 0 ? ax[i] : i, d, s, e, k;

		if (axis < 0)
			axis += x->rank;
		if (axis < 0 || axis >= x->rank)
			return onnx_bad(lw, "axis %lld", (long long)axis);
		for (int j = 0; j < i; j++)
			if ((na >= 0 ? (ax[j] < 0 ? ax[j] + x->rank : ax[j]) :
			    j) == axis)
				return onnx_bad(lw, "axis %lld sliced twice",
				    (long long)axis);
		d = x->dims[axis];
		k = np >= 0 ? sp[i] : 1;
		if (k == 0)
			return onnx_bad(lw, "step 0");
		/* A step past the axis takes one element, as the axis's
		 * length does: clamped, no size arithmetic overflows. */
		if (k > d)
			k = d > 0 ? d : 1;
		if (k < -d)
			k = d > 0 ? -d : -1;
		s = st[i] < 0 ? st[i] + d : st[i];
		e = en[i] < 0 ? en[i] + d : en[i];
		if (k > 0) {
			s = s < 0 ? 0 : s > d ? d : s;
			e = e < 0 ? 0 : e > d ? d : e;
			dims[axis] = e > s ? (e - s + k - 1) / k : 0;
		} else {
			s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
			e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
			dims[axis] = s > e ? (s - e - k - 1) / -k : 0;
		}
		first[axis] = s;
		step[axis] = k;
	}
	if ((rc = layout_out(lw, x, 0, x->rank, dims, &t)) != 0)
		return rc;
	x = &lw->t[xi];
	if (x->kind == T_CONST && x->nval >= 0 && x->rank == 1) {
		t->isint = x->isint;
		t->nval = (int)dims[0];
		for (int64_t i = 0; i < dims[0]; i++)
			t->val[i] = x->val[first[0] + i * step[0]];
	}
	if (x->kind == T_DYN && onnx_numel(t) == 0)
		return onnx_bad(lw, "an empty slice");
	return 0;
}

int
onnx_op_split(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	const Onnx__NodeProto *n = lw->node;
	int64_t axis = onnx_attr_i(n, "axis", 0), sz[MAX_VALS], dims[MAX_RANK];
	int nsz, xi, rc;
	tens *x, *s, *t;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	xi = onnx_idx(lw, x);
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis >= x->rank)
		return onnx_bad(lw, "axis %lld for rank %d", (long long)axis,
		    x->rank);
	if (n->n_output > MAX_VALS)
		return onnx_bad(lw, "%zu outputs (at most %d)", n->n_output,
		    MAX_VALS);
	nsz = onnx_attr_ints(n, "split", sz, MAX_VALS);
	if (nsz < 0 && n->n_input > 1 && n->input[1][0] != '\0') {
		if ((rc = onnx_need_in(lw, 1, &s)) != 0 ||
		    (rc = onnx_const_ints(lw, s, "'split'", sz, MAX_VALS,
		    &nsz)) != 0)
			return rc;
	}
	x = &lw->t[xi];
	if (nsz < 0) {
		/* ONNX: equal parts, the last one smaller if need be */
		int64_t part;

		nsz = (int)n->n_output;
		part = (x->dims[axis] + nsz - 1) / nsz;
		for (int i = 0; i < nsz; i++)
			sz[i] = part;
		sz[nsz - 1] = x->dims[axis] - (nsz - 1) * part;
		if (sz[nsz - 1] < 1)
			return onnx_bad(lw, "%d outputs for an axis of %lld",
			    nsz, (long long)x->dims[axis]);
	}
	if ((size_t)nsz != n->n_output)
		return onnx_bad(lw, "%d sizes for %zu outputs", nsz,
		    n->n_output);
	{
		int64_t sum = 0;

		for (int i = 0; i < nsz; i++) {
			if (sz[i] < 0 || sz[i] > x->dims[axis])
				return onnx_bad(lw, "size %lld for an axis of "
				    "%lld", (long long)sz[i],
				    (long long)x->dims[axis]);
			sum += sz[i];
		}
		if (sum != x->dims[axis])
			return onnx_bad(lw, "sizes that add up to %lld for an "
			    "axis of %lld", (long long)sum,
			    (long long)x->dims[axis]);
	}
	for (int i = 0; i < nsz; i++) {
		memcpy(dims, lw->t[xi].dims, sizeof dims);
		dims[axis] = sz[i];
		if ((rc = layout_out(lw, &lw->t[xi], (size_t)i, lw->t[xi].rank,
		    dims, &t)) != 0)
			return rc;
		t->fusable = 0;
	}
	return 0;
}

int
onnx_op_gather(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	int64_t axis = onnx_attr_i(lw->node, "axis", 0), dims[MAX_RANK];
	int r = 0, xi, ii, rc;
	tens *x, *ix, *t;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0 || (rc = onnx_need_in(lw, 1,
	    &ix)) != 0)
		return rc;
	xi = onnx_idx(lw, x);
	ii = onnx_idx(lw, ix);
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis >= x->rank)
		return onnx_bad(lw, "axis %lld for rank %d", (long long)axis,
		    x->rank);
	if (ix->kind != T_CONST)
		return onnx_bad(lw,
		    "indices computed from the activations (not "
		    "modelled)");
	if (x->rank - 1 + ix->rank > MAX_RANK)
		return onnx_bad(lw, "a result of rank %d",
		    x->rank - 1 + ix->rank);
	for (int i = 0; i < axis; i++)
		dims[r++] = x->dims[i];
	for (int i = 0; i < ix->rank; i++)
		dims[r++] = ix->dims[i];
	for (int i = (int)axis + 1; i < x->rank; i++)
		dims[r++] = x->dims[i];
	if ((rc = layout_out(lw, x, 0, r, dims, &t)) != 0)
		return rc;
	x = &lw->t[xi];
	ix = &lw->t[ii];
	t->fusable = 0;
	if (x->kind == T_CONST && x->rank == 1 && x->nval >= 0 &&
	    ix->nval >= 0) {
		t->isint = x->isint;
		t->nval = ix->nval;
		for (int i = 0; i < ix->nval; i++) {
			int64_t k = (int64_t)ix->val[i];

			if (k < 0)
				k += x->nval;
			if (k < 0 || k >= x->nval) {
				t->nval = -1;
				break;
			}
			t->val[i] = x->val[k];
		}
	}
	return 0;
}

/* Constant, ConstantOfShape, Range, Equal/Where and friends: CONST. */
int
onnx_op_const(lower *lw, const onnx_op *e)
{
	const char *op = e->name;
	const Onnx__NodeProto *n = lw->node;
	tens *t, *a, *b, *c;
	int64_t v[MAX_VALS];
	int nv, rc;

	if (strcmp(op, "Constant") == 0) {
		const Onnx__AttributeProto *at;

		t = onnx_out_t(lw, 0);
		t->kind = T_CONST;
		if ((at = onnx_attr(n, "value")) != NULL && at->t != NULL)
			return onnx_from_proto(lw, t, at->t);
		if ((at = onnx_attr(n, "value_float")) != NULL && at->has_f) {
			t->nval = 1;
			t->val[0] = at->f;
			return 0;
		}
		if ((at = onnx_attr(n, "value_int")) != NULL && at->has_i) {
			t->nval = 1;
			t->isint = 1;
			t->val[0] = (double)at->i;
			return 0;
		}
		if ((at = onnx_attr(n, "value_ints")) != NULL) {
			t->rank = 1;
			t->dims[0] = (int64_t)at->n_ints;
			t->isint = 1;
			if (at->n_ints <= MAX_VALS) {
				t->nval = (int)at->n_ints;
				for (size_t i = 0; i < at->n_ints; i++)
					t->val[i] = (double)at->ints[i];
			}
			return 0;
		}
		if ((at = onnx_attr(n, "value_floats")) != NULL) {
			t->rank = 1;
			t->dims[0] = (int64_t)at->n_floats;
			if (at->n_floats <= MAX_VALS) {
				t->nval = (int)at->n_floats;
				for (size_t i = 0; i < at->n_floats; i++)
					t->val[i] = at->floats[i];
			}
			return 0;
		}
		return onnx_bad(lw, "no value");
	}
	if (strcmp(op, "ConstantOfShape") == 0) {
		const Onnx__AttributeProto *at = onnx_attr(n, "value");
		tens fill;

		if ((rc = onnx_need_in(lw, 0, &a)) != 0 ||
		    (rc = onnx_const_ints(lw, a, "the shape", v, MAX_RANK,
		    &nv)) != 0)
			return rc;
		memset(&fill, 0, sizeof fill);
		fill.name = "value";
		fill.nval = 1;
		if (at != NULL && at->t != NULL &&
		    (rc = onnx_from_proto(lw, &fill, at->t)) != 0)
			return rc;
		t = onnx_out_t(lw, 0);
		if ((rc = onnx_set_dims(lw, t, nv, v)) != 0)
			return rc;
		t->kind = T_CONST;
		t->isint = fill.isint;
		if (fill.nval >= 1 && onnx_numel(t) <= MAX_VALS) {
			t->nval = (int)onnx_numel(t);
			for (int i = 0; i < t->nval; i++)
				t->val[i] = fill.val[0];
		}
		return 0;
	}
	if (strcmp(op, "Where") == 0) {
		tens ab;

		if ((rc = onnx_need_in(lw, 0, &c)) != 0 ||
		    (rc = onnx_need_in(lw, 1, &a)) != 0 ||
		    (rc = onnx_need_in(lw, 2, &b)) != 0)
			return rc;
		if (c->kind == T_DYN || a->kind == T_DYN || b->kind == T_DYN)
			return onnx_bad(lw, "a Where on activations (not "
			    "modelled)");
		memset(&ab, 0, sizeof ab);
		ab.name = lw->node->output[0];
		if ((rc = onnx_broadcast(lw, a, b, &ab)) != 0)
			return rc;
		t = onnx_out_t(lw, 0);
		onnx_need_in(lw, 0, &c);
		onnx_need_in(lw, 1, &a);
		onnx_need_in(lw, 2, &b);
		if ((rc = onnx_broadcast(lw, c, &ab, t)) != 0)
			return rc;
		t->kind = T_CONST;
		t->isint = a->isint && b->isint;
		/* Folded where each operand is one value or all of them
		 * (what shape arithmetic needs), as onnx_const_binary. */
		if (c->nval >= 0 && a->nval >= 0 && b->nval >= 0 &&
		    onnx_numel(t) <= MAX_VALS) {
			int nn = (int)onnx_numel(t);

			if ((c->nval != 1 && c->nval != nn) ||
			    (a->nval != 1 && a->nval != nn) ||
			    (b->nval != 1 && b->nval != nn))
				return 0;
			t->nval = nn;
			for (int i = 0; i < nn; i++) {
				double cv = c->val[c->nval == 1 ? 0 : i];

				t->val[i] = cv != 0 ?
				    a->val[a->nval == 1 ? 0 : i] :
				    b->val[b->nval == 1 ? 0 : i];
			}
		}
		return 0;
	}
	if (strcmp(op, "Range") == 0) {
		double s, l, d;
		int cnt;

		if ((rc = onnx_need_in(lw, 0, &a)) != 0 ||
		    (rc = onnx_need_in(lw, 1, &b)) != 0 ||
		    (rc = onnx_need_in(lw, 2, &c)) != 0)
			return rc;
		if (!onnx_is_scalar(a) || !onnx_is_scalar(b) ||
		    !onnx_is_scalar(c) ||
		    a->nval < 1 || b->nval < 1 || c->nval < 1)
			return onnx_bad(lw, "a Range of non-constant bounds");
		s = a->val[0];
		l = b->val[0];
		d = c->val[0];
		if (d == 0)
			return onnx_bad(lw, "a Range of step 0");
		{
			double count = fmax(ceil((l - s) / d), 0);

			if (!(count <= INT_MAX))
				return onnx_bad(lw, "a Range of %g values",
				    count);
			cnt = (int)count;
		}
		t = onnx_out_t(lw, 0);
		t->kind = T_CONST;
		t->rank = 1;
		t->dims[0] = cnt;
		t->isint = 1;
		if (cnt <= MAX_VALS) {
			t->nval = cnt;
			for (int i = 0; i < cnt; i++)
				t->val[i] = s + i * d;
		}
		return 0;
	}
	/* Comparisons and logic on constants. */
	if ((rc = onnx_need_in(lw, 0, &a)) != 0)
		return rc;
	if (n->n_input > 1 && (rc = onnx_need_in(lw, 1, &b)) != 0)
		return rc;
	if (n->n_input < 2)
		b = a;
	if (a->kind == T_DYN || b->kind == T_DYN)
		return onnx_bad(lw, "a %s on activations (not modelled)", op);
	{
		int ai = onnx_idx(lw, a), bi = onnx_idx(lw, b);

		t = onnx_out_t(lw, 0);
		if ((rc = onnx_broadcast(lw, &lw->t[ai], &lw->t[bi], t)) != 0)
			return rc;
		onnx_const_binary(op, &lw->t[ai], &lw->t[bi], t);
		if (strcmp(op, "Not") == 0 && lw->t[ai].nval >= 0) {
			t->nval = lw->t[ai].nval;
			for (int i = 0; i < t->nval; i++)
				t->val[i] = lw->t[ai].val[i] == 0;
		}
	}
	return 0;
}
