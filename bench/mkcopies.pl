#!/usr/bin/perl
# mkcopies.pl BASE.jpg DIR FIRST LAST
#
# Writes copies FIRST..LAST of BASE.jpg into DIR/sNNN/cNNNNNN.jpg (100 files
# a folder), each with a different tag appended after the JPEG's EOI marker.
# Decoders ignore trailing data, so every copy shows the same picture, but
# its content hash (Shoebox's photo id) differs: N distinct photos in a
# second or two, without N image encodes.
use strict;
use warnings;

@ARGV == 4 or die "usage: mkcopies.pl BASE.jpg DIR FIRST LAST\n";
my ($base, $dir, $first, $last) = @ARGV;
open(my $in, '<:raw', $base) or die "mkcopies: $base: $!\n";
my $data = do { local $/; <$in> };
close $in;
mkdir $dir unless -d $dir;
for my $i ($first .. $last) {
    my $sub = sprintf('%s/s%03d', $dir, int(($i - 1) / 100));
    mkdir $sub or die "mkcopies: $sub: $!\n" unless -d $sub;
    my $p = sprintf('%s/c%06d.jpg', $sub, $i);
    open(my $out, '>:raw', $p) or die "mkcopies: $p: $!\n";
    print {$out} $data, sprintf("shoebox-bench-copy-%08d\n", $i) or die "mkcopies: $p: $!\n";
    close $out or die "mkcopies: $p: $!\n";
}
