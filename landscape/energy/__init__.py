"""Energy landscapes: stationary points, basin hopping, a minima database, transition states.

The chemists' toolbox (Wales, *Energy Landscapes*, 2003; Ballard et al., "Energy
landscapes for machine learning", PCCP 2017) in the library's terms: an energy is
any smooth float64 function of a flat coordinate vector ``x`` of shape (d,);
a `Problem`'s full-batch loss becomes one through `landscape.energy.potentials`.
"""
