/*
 * le.h - little-endian encoding of integers and doubles, whatever the host:
 * the byte order of every binary format h4h writes (checkpoints, random
 * stream states, the cost database's candidate blobs).  A double travels
 * as its IEEE-754 bit pattern.
 */
#ifndef H4H_CORE_LE_H
#define H4H_CORE_LE_H

#include <stdint.h>
#include <string.h>

static inline void
h4h_le_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void
h4h_le_put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void
h4h_le_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void
h4h_le_put_f64(unsigned char *p, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof v);
	h4h_le_put64(p, v);
}

static inline uint16_t
h4h_le_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
h4h_le_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
h4h_le_get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline double
h4h_le_get_f64(const unsigned char *p)
{
	uint64_t v = h4h_le_get64(p);
	double d;

	memcpy(&d, &v, sizeof d);
	return d;
}

#endif
