import TimbreCore
import Popularity
import Bias
import UserKNN
import ItemKNN
import Content
import Hybrid
import EASE
import IALS
import BPR
import BiasedMF
import Bridge

/// The registry table: adding a strategy is one line here (plus its target in Package.swift).
public let registeredStrategies = StrategyRegistry([
    Popularity.self,
    Bias.self,
    UserKNN.self,
    ItemKNN.self,
    Content.self,
    Hybrid.self,
    EASE.self,
    IALS.self,
    BPR.self,
    BiasedMF.self,
    Bridge.self,
])
