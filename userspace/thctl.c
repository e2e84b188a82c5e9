// SPDX-License-Identifier: GPL-2.0
/* placeholder, replaced by the real thctl */
int main(void)
{
	return 1;
}
