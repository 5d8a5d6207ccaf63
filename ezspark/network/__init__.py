"""Networks: genomes compiled to flat programs, and the champion that acts."""
